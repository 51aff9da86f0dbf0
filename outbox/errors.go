package outbox

import (
	"errors"
	"fmt"
	"time"

	"github.com/smsagent/smsagent"
)

// Sentinel errors. Test with errors.Is: the errors returned carry more
// context (the path, the message id, the state).
var (
	// ErrLocked is returned by Open and Compact when another process holds
	// the database file. The concrete error is a *LockedError.
	ErrLocked = errors.New("outbox: database in use by another smsagent process")
	// ErrNotFound is returned when a message id is not in the outbox (never
	// stored, or pruned after the retention period).
	ErrNotFound = errors.New("outbox: message not found")
	// ErrClosed is returned by every method once Close has begun, and to
	// operations still waiting to be handed to the writer when Close's
	// context ended.
	ErrClosed = errors.New("outbox: closed")
	// ErrReadOnly is returned by every mutating method of a store opened
	// with Options.ReadOnly.
	ErrReadOnly = errors.New("outbox: opened read-only")
	// ErrState is returned when an operator command or Fail does not apply
	// to the message's current state. The concrete error is a *StateError.
	ErrState = errors.New("outbox: not allowed in this state")
	// ErrInvalid is returned for input the outbox refuses to store (a batch
	// without a claim, a part number outside its total). Nothing of the call
	// was stored.
	ErrInvalid = errors.New("outbox: invalid input")
	// ErrSchema is returned by Open for a file that is not an outbox or was
	// written by a newer release.
	ErrSchema = errors.New("outbox: unsupported database")
	// ErrCorrupt is returned when a stored value cannot be decoded.
	ErrCorrupt = errors.New("outbox: corrupt record")
)

// LockedError says that the database file is locked by another process: an
// agent is running, or a queue command holds it. It matches ErrLocked.
type LockedError struct {
	Path    string
	Timeout time.Duration
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("outbox: %s is in use by another smsagent process (lock not acquired within %s)", e.Path, e.Timeout)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// StateError says that an operation does not apply to a message in its
// current state, e.g. Retry of a delivered message. It matches ErrState.
type StateError struct {
	Op    string
	ID    smsagent.MessageID
	State smsagent.State
}

func (e *StateError) Error() string {
	return fmt.Sprintf("outbox: %s message %s: not allowed in state %s", e.Op, e.ID, e.State)
}

// Is makes errors.Is(err, ErrState) true.
func (e *StateError) Is(target error) bool { return target == ErrState }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

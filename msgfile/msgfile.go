package msgfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/smsagent/smsagent"
)

// Format is a message file format.
type Format uint8

const (
	// FormatSMSTools is the smstools3 text format (.sms, .txt, no extension).
	FormatSMSTools Format = iota + 1
	// FormatJSON is one JSON object or an array of objects (.json).
	FormatJSON
	// FormatNDJSON is one JSON object per line (.ndjson, .jsonl).
	FormatNDJSON
)

func (f Format) String() string {
	switch f {
	case FormatSMSTools:
		return "smstools"
	case FormatJSON:
		return "json"
	case FormatNDJSON:
		return "ndjson"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// FormatOf picks the format from a file name's extension, ignoring case so
// that files named on Windows ("ORDERS.JSON") are read too.
func FormatOf(name string) (Format, error) {
	switch ext := strings.ToLower(extension(name)); ext {
	case ".json":
		return FormatJSON, nil
	case ".ndjson", ".jsonl":
		return FormatNDJSON, nil
	case ".sms", ".txt", "":
		return FormatSMSTools, nil
	default:
		return 0, fmt.Errorf("unsupported extension %q: use .json, .ndjson, .jsonl, .sms, .txt or none", ext)
	}
}

// extension is filepath.Ext of the base name, for names written with either
// separator (intake may run on Windows and be given "C:\\spool\\x.json").
func extension(name string) string {
	base := baseName(name)
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		return base[i:]
	}
	return ""
}

func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		return name[i+1:]
	}
	return name
}

// Charset is the character set of an smstools3 body.
type Charset uint8

const (
	// CharsetUTF8 reads bodies as UTF-8 (the default).
	CharsetUTF8 Charset = iota
	// CharsetISO885915 reads bodies as ISO-8859-15, the smstools default.
	CharsetISO885915
)

// DefaultMaxSize is the default of Options.MaxSize.
const DefaultMaxSize = 32 << 20

// MaxProblems caps the problems a FileError lists; the rest are counted.
const MaxProblems = 100

// maxProblemLen caps one problem's message: messages quote the offending
// value, and a garbage file must not make a giant report.
const maxProblemLen = 300

// Options tune parsing. The zero value is ready to use.
type Options struct {
	// Logger receives warnings about ignored smstools3 headers. nil
	// discards them.
	Logger *slog.Logger
	// SMSToolsCharset is the charset of smstools3 bodies whose Alphabet:
	// header does not name one.
	SMSToolsCharset Charset
	// FoldHeaderCase matches smstools3 header names without regard to case
	// ("to:" is read as "To:"), logging a warning for each such header.
	// smstools itself is case-sensitive, and so is the default.
	FoldHeaderCase bool
	// MaxSize bounds a .json or smstools3 file, which is read whole, and
	// each line of an NDJSON file. Zero means DefaultMaxSize.
	MaxSize int64
	// MaxMessages refuses a file of more messages (the agent's
	// spool.max_messages). Messages are counted as they are sent: one per
	// recipient, so an entry with a list of ten numbers counts ten; an
	// entry that is not a message (a line that is not JSON) counts one.
	// Reading stops at the first entry past the limit, which is then the
	// file's only problem, so an NDJSON file past it costs the memory of
	// MaxMessages messages, not of the file. Zero means
	// DefaultMaxMessages.
	MaxMessages int
	// Accounts are the SMSC accounts' names: an smstools3 Queue: header
	// naming one pins the message to it (as the JSON field "smsc" does);
	// another name is ignored with a warning.
	Accounts []string
}

// DefaultMaxMessages is Options.MaxMessages when zero.
const DefaultMaxMessages = 100_000

func (o *Options) maxMessages() int {
	if o.MaxMessages > 0 {
		return o.MaxMessages
	}
	return DefaultMaxMessages
}

// tooManyMessages is the problem of a file past Options.MaxMessages.
func tooManyMessages(line, limit int) Problem {
	return Problem{Line: line, Message: fmt.Sprintf("more than %d messages in one file (the agent's spool.max_messages); "+
		"split it into smaller files", limit)}
}

func (o *Options) maxSize() int64 {
	if o.MaxSize > 0 {
		return o.MaxSize
	}
	return DefaultMaxSize
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Problem is the domain's record of one reason a file was refused; spool
// writes it into failed/NAME.error.json.
type Problem = smsagent.Problem

// FileError says why a file was refused as a whole. It is the only error
// Parse and ScanNDJSON return for a bad file; any other error means the file
// could not be read and says nothing about its content.
type FileError struct {
	Name     string
	Format   Format
	problems []Problem
	omitted  int
}

// Problems lists the problems found, in file order, at most MaxProblems.
func (e *FileError) Problems() []Problem { return e.problems }

// Omitted is the number of problems found beyond MaxProblems.
func (e *FileError) Omitted() int { return e.omitted }

// errorListed is how many problems Error spells out; Problems has them all.
const errorListed = 5

func (e *FileError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "msgfile: %s: ", e.Name)
	total := len(e.problems) + e.omitted
	if total > 1 {
		fmt.Fprintf(&b, "%d problems: ", total)
	}
	for i, p := range e.problems {
		if i == errorListed {
			fmt.Fprintf(&b, "; and %d more", total-errorListed)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// MarshalJSON gives the form intake writes next to a refused file.
func (e *FileError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		File     string    `json:"file"`
		Format   string    `json:"format,omitempty"`
		Problems []Problem `json:"problems"`
		Omitted  int       `json:"omitted,omitempty"`
	}{e.Name, e.formatName(), e.problems, e.omitted})
}

func (e *FileError) formatName() string {
	if e.Format == 0 {
		return ""
	}
	return e.Format.String()
}

// problems collects the problems of one file up to the cap.
type problems struct {
	list    []Problem
	omitted int
}

func (ps *problems) add(p Problem) {
	if len(ps.list) >= MaxProblems {
		ps.omitted++
		return
	}
	p.Message = truncate(p.Message, maxProblemLen)
	p.Field = truncate(p.Field, 64)
	ps.list = append(ps.list, p)
}

func (ps *problems) any() bool { return len(ps.list) > 0 }

func (ps *problems) err(name string, f Format) error {
	if !ps.any() {
		return nil
	}
	return &FileError{Name: name, Format: f, problems: ps.list, omitted: ps.omitted}
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// quote renders a user's value inside a problem message, shortened so that
// one huge value cannot crowd out the others.
func quote(s string) string { return strconv.Quote(truncate(s, 64)) }

// Parse reads every message of the file named name from r. The format comes
// from the name's extension (see FormatOf). Every message is validated with
// smsagent.Message.Validate, and File is set to the name's base. On a bad
// file Parse returns a *FileError and no messages.
func Parse(r io.Reader, name string, opts Options) ([]smsagent.Message, error) {
	var c collector
	if err := Scan(r, name, opts, c.add); err != nil {
		return nil, err
	}
	return c.slice(), nil
}

// Scan reads the file named name from r as Parse does, but hands each
// message to fn, in file order, instead of collecting them: a caller that
// keeps them in a form of its own never holds the file's messages twice.
//
// The file is accepted or refused as a whole all the same: fn is not called
// once a problem is found, the rest is read to list the problems, and a
// *FileError is returned; a caller that kept messages must then drop them.
// If fn returns an error, Scan stops reading and returns it.
//
// NDJSON files are streamed one line at a time (ScanNDJSON). A .json or
// smstools3 file is read whole, at most MaxSize bytes; when r has a Size()
// int64 method (bytes.Reader, strings.Reader, io.SectionReader, the reader
// spool intake hands over) the file is read into one buffer of that size
// instead of a growing one, which would hold up to twice the file while it
// grows.
func Scan(r io.Reader, name string, opts Options, fn func(smsagent.Message) error) error {
	format, err := FormatOf(name)
	if err != nil {
		var ps problems
		ps.add(Problem{Message: err.Error()})
		return ps.err(name, 0)
	}
	if format == FormatNDJSON {
		return ScanNDJSON(r, name, opts, fn)
	}
	data, err := readAll(r, opts.maxSize())
	if err != nil {
		if errors.Is(err, errTooLarge) {
			var ps problems
			ps.add(Problem{Message: fmt.Sprintf("file is larger than %d bytes", opts.maxSize())})
			return ps.err(name, format)
		}
		return fmt.Errorf("msgfile: read %s: %w", name, err)
	}
	var ps problems
	if format == FormatJSON {
		f := &jsonFile{name: baseName(name), ps: &ps, fn: fn, max: opts.maxMessages()}
		parseJSONFile(data, f)
		if f.fnErr != nil {
			return f.fnErr
		}
		return ps.err(name, format)
	}
	// One message at most: the whole file is its text.
	msgs := parseSMSTools(data, name, &opts, &ps)
	if err := ps.err(name, format); err != nil {
		return err
	}
	for _, m := range msgs {
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

var errTooLarge = errors.New("too large")

// collector gathers messages in fixed-size chunks and copies them once into
// a slice of the exact length: appending 100,000 messages one by one would
// copy the growing slice over and over.
type collector struct {
	chunks [][]smsagent.Message
	n      int
}

// maxChunk bounds a chunk; chunks start small so that the common file of
// one message costs one small allocation.
const maxChunk = 1024

func (c *collector) add(m smsagent.Message) error {
	if len(c.chunks) == 0 || len(c.chunks[len(c.chunks)-1]) == cap(c.chunks[len(c.chunks)-1]) {
		c.chunks = append(c.chunks, make([]smsagent.Message, 0, min(max(4, c.n), maxChunk)))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, m)
	c.n++
	return nil
}

func (c *collector) slice() []smsagent.Message {
	if len(c.chunks) == 1 {
		return c.chunks[0]
	}
	out := make([]smsagent.Message, 0, c.n)
	for _, ch := range c.chunks {
		out = append(out, ch...)
	}
	return out
}

// readAll reads r up to max bytes; one more byte means the file is too big.
// A reader that tells its size is read into a buffer of that size (and the
// few bytes Buffer.ReadFrom wants free to see the end), so the file is held
// once; any other grows a buffer as it reads.
func readAll(r io.Reader, max int64) ([]byte, error) {
	var buf bytes.Buffer
	if s, ok := r.(interface{ Size() int64 }); ok {
		if size := s.Size(); size >= 0 && size <= max {
			buf.Grow(int(size) + bytes.MinRead)
		}
	}
	n, err := buf.ReadFrom(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}

// Byte order marks. A UTF-8 one is skipped; UTF-16 ones mean the file was
// saved in the wrong encoding (Windows PowerShell 5 does this by default).
var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16BE = []byte{0xFE, 0xFF}
	bomUTF16LE = []byte{0xFF, 0xFE}
)

// utf16Problem reports a file that starts like UTF-16 text.
func utf16Problem(data []byte) (string, bool) {
	if bytes.HasPrefix(data, bomUTF16LE) || bytes.HasPrefix(data, bomUTF16BE) {
		return "file is UTF-16 text (it starts with a byte order mark); save it as UTF-8", true
	}
	return "", false
}

// lineAt is the 1-based line of data[off].
func lineAt(data []byte, off int) int {
	if off > len(data) {
		off = len(data)
	}
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}

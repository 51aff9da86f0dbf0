package pdu

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
)

// DefaultMaxLength is the Reader's default limit on command_length: the
// header, a message_payload TLV at its largest (4 + 65535 octets) and 1 KiB
// for the mandatory fields and other TLVs of the same PDU.
const DefaultMaxLength = HeaderLen + 64*1024 + 1024

// Reader cuts a byte stream into PDU frames (§3.2: command_length counts
// the whole PDU). It checks command_length before it allocates anything,
// reads the rest with io.ReadFull (a PDU may arrive in any number of TCP
// segments), and reuses one buffer: a frame is valid until the next call.
//
// A Reader is not safe for concurrent use; the session's reader goroutine
// owns it.
type Reader struct {
	r     io.Reader
	max   uint32
	first [4]byte // command_length, read before anything is allocated
	buf   []byte
}

// NewReader returns a Reader on r that refuses frames longer than
// maxLength octets; maxLength <= 0 means DefaultMaxLength, and a value
// below the header size is raised to it.
func NewReader(r io.Reader, maxLength int) *Reader {
	m := uint32(DefaultMaxLength)
	if maxLength > 0 {
		m = uint32(min(maxLength, math.MaxInt32))
	}
	return &Reader{r: r, max: max(m, HeaderLen)}
}

// ReadFrame reads one whole PDU, header included. The returned slice is
// the Reader's buffer and is overwritten by the next call; decode it (with
// Decode or ParseHeader and DecodeBody) before reading on.
//
// At a clean end of stream between frames it returns io.EOF; a stream that
// ends inside a frame gives io.ErrUnexpectedEOF. A command_length that
// cannot start a frame gives a *FramingError: the stream is no longer
// usable.
func (r *Reader) ReadFrame() ([]byte, error) {
	first := r.first[:]
	if _, err := io.ReadFull(r.r, first); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(first)
	if err := checkLength(first, n, r.max); err != nil {
		return nil, err
	}
	if uint32(cap(r.buf)) < n {
		// Grow with headroom, so a stream of slowly growing PDUs does not
		// reallocate each time, but never past the limit.
		c := min(max(uint64(n), 2*uint64(cap(r.buf)), 512), uint64(r.max))
		r.buf = make([]byte, 0, c)
	}
	frame := r.buf[:n]
	copy(frame, first)
	if _, err := io.ReadFull(r.r, frame[4:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return frame, nil
}

// checkLength classifies the first four octets of a frame. The HTTP and
// TLS checks come first: as lengths those octets are always absurd, but the
// reason tells the operator what is really on the other end (a web server,
// a TLS port).
func checkLength(first []byte, n, limit uint32) error {
	switch string(first) {
	case "HTTP", "GET ", "POST", "PUT ", "HEAD":
		return &FramingError{Reason: FramingHTTP, Length: n, Max: limit}
	}
	// A TLS record starts with its content type, 22 handshake (a TLS
	// client on our plain port) or 21 alert (a TLS server refusing our
	// plain bind), then major version 3 (SSL 3.0 up to TLS 1.3).
	if (first[0] == 0x16 || first[0] == 0x15) && first[1] == 0x03 {
		return &FramingError{Reason: FramingTLS, Length: n, Max: limit}
	}
	if n < HeaderLen {
		return &FramingError{Reason: FramingTooShort, Length: n, Max: limit}
	}
	if n > limit {
		return &FramingError{Reason: FramingTooLong, Length: n, Max: limit}
	}
	return nil
}

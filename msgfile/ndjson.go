package msgfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/smsagent/smsagent"
)

// ScanNDJSON reads an NDJSON file (one message object per line) and calls fn
// for each message, in file order, while holding only the current line.
//
// The file is still accepted or refused as a whole: once a problem is found
// fn is no longer called, the rest of the file is read to list its problems,
// and a *FileError is returned. A caller that stored the messages it was
// given must then discard them (for example by not committing the
// transaction it fed). If fn returns an error, scanning stops and that error
// is returned. The messages fn receives share no memory with the reader's
// buffers.
func ScanNDJSON(r io.Reader, name string, opts Options, fn func(smsagent.Message) error) error {
	s := lineReader{r: bufio.NewReaderSize(r, 64<<10), max: int(min(opts.maxSize(), 1<<40))}
	var ps problems
	f := &jsonFile{name: baseName(name), ps: &ps, fn: fn, max: opts.maxMessages()}
	entries := 0
	for n := 1; ; n++ {
		line, err := s.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, errTooLarge) {
			if !f.tally(0, n) {
				return ps.err(name, FormatNDJSON)
			}
			ps.add(Problem{Line: n, Message: fmt.Sprintf("line is longer than %d bytes", s.max)})
			continue
		}
		if err != nil {
			return fmt.Errorf("msgfile: read %s: %w", name, err)
		}
		if n == 1 {
			if msg, bad := utf16Problem(line); bad {
				ps.add(Problem{Line: 1, Message: msg})
				return ps.err(name, FormatNDJSON)
			}
			line = bytes.TrimPrefix(line, bomUTF8)
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		entries++
		switch {
		case line[0] == '{' && json.Valid(line):
			// The line's buffer is reused; one string copy of it is what
			// the messages keep.
			f.parseEntry(line, string(line), n, 0)
		case !f.tally(0, n):
			// Past the limit: that is the file's only problem now.
		case line[0] == '{':
			p := syntaxProblem(line)
			p.Line = n
			ps.add(p)
		default:
			msg := "not a JSON object"
			if line[0] == '[' && n == 1 {
				msg += " (an array of messages belongs in a .json file)"
			}
			ps.add(Problem{Line: n, Message: msg})
		}
		if f.over {
			// Stop here: the rest of the file is never read or held.
			return ps.err(name, FormatNDJSON)
		}
		if f.fnErr != nil {
			return f.fnErr
		}
	}
	if entries == 0 && !ps.any() {
		ps.add(Problem{Message: "file holds no messages"})
	}
	return ps.err(name, FormatNDJSON)
}

// lineReader yields lines without their "\n", growing a buffer only for
// lines longer than the reader's, and never beyond max.
type lineReader struct {
	r    *bufio.Reader
	max  int
	long []byte
}

// next returns the next line, valid until the following call; errTooLarge
// for a line longer than max (which is skipped), io.EOF at the end.
func (l *lineReader) next() ([]byte, error) {
	line, err := l.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		l.long = append(l.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = l.r.ReadSlice('\n')
			if len(l.long) <= l.max+1 {
				l.long = append(l.long, line...)
			}
		}
		line = l.long
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(line) == 0 && err != nil {
		return nil, io.EOF
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	if len(line) > l.max {
		return nil, errTooLarge
	}
	return line, nil
}

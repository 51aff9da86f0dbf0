package bench

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Arrival is how the workload's messages reach outgoing/.
type Arrival string

const (
	// ArrivalNDJSON drops one NDJSON file holding every message.
	ArrivalNDJSON Arrival = "ndjson"
	// ArrivalFiles drops one JSON file per message, renamed in as fast
	// as the file system allows.
	ArrivalFiles Arrival = "files"
	// ArrivalRate renames one JSON file per message into outgoing/ at a
	// steady Rate for Duration.
	ArrivalRate Arrival = "rate"
)

// Mix is the kind of text the messages carry.
type Mix string

const (
	// MixShort is one GSM 03.38 part per message.
	MixShort Mix = "short"
	// MixLong is GSM 03.38 text of three concatenated parts.
	MixLong Mix = "long"
	// MixUCS2 is one UCS-2 part with an emoji (a surrogate pair).
	MixUCS2 Mix = "ucs2"
	// MixMixed cycles through short, long and UCS-2.
	MixMixed Mix = "mixed"
)

// Workload is what one run pushes through the agent.
type Workload struct {
	// Messages is the number of messages; with ArrivalRate it is Rate ×
	// Duration and this field is ignored.
	Messages int           `json:"messages"`
	Arrival  Arrival       `json:"arrival"`
	Rate     int           `json:"rate,omitempty"`     // messages per second offered (ArrivalRate)
	Duration time.Duration `json:"duration,omitempty"` // how long they are offered (ArrivalRate)
	Mix      Mix           `json:"mix"`
	Receipts bool          `json:"receipts"`
	Sessions int           `json:"sessions"`
	Window   int           `json:"window"`
	// Inbox is spool.inbox_format: "json" (the default) or "ndjson".
	Inbox string `json:"inbox,omitempty"`
	// RTT is the round trip the simulator adds to every submit_sm_resp
	// (a real SMSC is 10 to 100 ms away); zero answers at once.
	RTT time.Duration `json:"rtt,omitempty"`
}

func (w Workload) inboxFormat() string {
	if w.Inbox == "" {
		return "json"
	}
	return w.Inbox
}

// Ideal is what the windows allow at RTT: sessions × window ÷ RTT
// messages per second (one part each); 0 without an RTT.
func (w Workload) Ideal() float64 {
	if w.RTT <= 0 {
		return 0
	}
	return float64(w.Sessions*w.Window) / w.RTT.Seconds()
}

// count is the number of messages the workload sends.
func (w Workload) count() int {
	if w.Arrival == ArrivalRate {
		return int(int64(w.Rate) * int64(w.Duration) / int64(time.Second))
	}
	return w.Messages
}

// parts is the number of submit_sm the workload's messages take.
func (w Workload) parts() int {
	n := w.count()
	switch w.Mix {
	case MixLong:
		return 3 * n
	case MixMixed:
		return n + 2*((n+1)/3) // every third message from the second on is long
	}
	return n
}

// Validate says what is wrong with the workload, all at once.
func (w Workload) Validate() error {
	var errs []error
	if w.RTT < 0 {
		errs = append(errs, errors.New("rtt must not be negative"))
	}
	switch w.Arrival {
	case ArrivalNDJSON, ArrivalFiles:
		if w.Messages < 1 {
			errs = append(errs, errors.New("messages must be at least 1"))
		}
	case ArrivalRate:
		if w.Rate < 1 || w.Duration <= 0 || w.count() < 1 {
			errs = append(errs, errors.New("the rate arrival needs a rate of at least 1/s and a duration worth one message"))
		}
	default:
		errs = append(errs, fmt.Errorf("arrival %q: want ndjson, files or rate", w.Arrival))
	}
	switch w.Mix {
	case MixShort, MixLong, MixUCS2, MixMixed:
	default:
		errs = append(errs, fmt.Errorf("mix %q: want short, long, ucs2 or mixed", w.Mix))
	}
	if w.Sessions < 1 || w.Window < 1 {
		errs = append(errs, errors.New("sessions and window must be at least 1"))
	}
	if w.count() > maxMessages {
		errs = append(errs, fmt.Errorf("at most %d messages", maxMessages))
	}
	return errors.Join(errs...)
}

// maxMessages keeps the message index within the eight digits the
// destination number carries it in.
const maxMessages = 99_999_999

// destPrefix starts every destination: a Finnish mobile number whose last
// eight digits are the message's index, so that the simulator's hook finds
// the message of a submission without a lookup table.
const destPrefix = "+3584"

// The texts of the mixes. The long one is 400 GSM characters: three parts
// of at most 153 with a concatenation header (3GPP TS 23.040 §9.2.3.24.1).
var (
	shortText = "Your code is 123456. It expires in ten minutes. Message %d."
	longText  = strings.Repeat("Long message for the benchmark, in the GSM alphabet. ", 8)[:380] + " Message %08d."
	ucs2Text  = "Hei 👋 tervetuloa! Viesti %d."
)

// writeNDJSON writes messages [from, to) to dst, one JSON object a line.
func (w Workload) writeNDJSON(dst io.Writer, from, to int) error {
	var line []byte
	for i := from; i < to; i++ {
		line = append(w.appendMessage(line[:0], i), '\n')
		if _, err := dst.Write(line); err != nil {
			return err
		}
	}
	return nil
}

// appendMessage appends message i as one JSON object, without a newline.
func (w Workload) appendMessage(b []byte, i int) []byte {
	mix := w.Mix
	if mix == MixMixed {
		mix = [...]Mix{MixShort, MixLong, MixUCS2}[i%3]
	}
	var text string
	switch mix {
	case MixLong:
		text = fmt.Sprintf(longText, i)
	case MixUCS2:
		text = fmt.Sprintf(ucs2Text, i)
	default:
		text = fmt.Sprintf(shortText, i)
	}
	return fmt.Appendf(b, `{"id":"b%d","to":"%s%08d","text":%q,"report":%t}`, i, destPrefix, i, text, w.Receipts)
}

// messageIndex reads the index back from a destination address as the
// SMSC sees it (international, without the plus); -1 if it is not one of
// ours.
func messageIndex(dest string) int {
	if len(dest) < 8 {
		return -1
	}
	n := 0
	for _, c := range dest[len(dest)-8:] {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

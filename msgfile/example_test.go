package msgfile_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/smsagent/smsagent/msgfile"
)

func ExampleParse() {
	file := `{"to": ["+358 40 123 4567", "0049 170 1234567"], "text": "Meeting moved to 3pm", "id": "memo-9"}`
	msgs, err := msgfile.Parse(strings.NewReader(file), "memo.json", msgfile.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range msgs {
		fmt.Println(m.ClientID, m.To, m.Text)
	}
	// Output:
	// memo-9 +358401234567 Meeting moved to 3pm
	// memo-9 +491701234567 Meeting moved to 3pm
}

func ExampleFileError() {
	file := "To: 040x1\nValidity: forever\n\nHello\n"
	_, err := msgfile.Parse(strings.NewReader(file), "hello.sms", msgfile.Options{})
	var fe *msgfile.FileError
	if errors.As(err, &fe) {
		for _, p := range fe.Problems() {
			fmt.Println(p)
		}
	}
	// Output:
	// line 1: To: number "040x1": 'x' at position 4 is not a digit
	// line 2: Validity: "forever": want 0-255 or a count and a unit: min, hour, day, week, month or year
}

package dlr_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp/dlr"
)

func TestParseText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want dlr.Text
	}{
		{
			// The layout of SMPP 3.4 Appendix B, filled in.
			name: "SMPP 3.4 Appendix B",
			in:   "id:0123456789 sub:001 dlvrd:001 submit date:0610191018 done date:0610191023 stat:DELIVRD err:000 Text:Hello world",
			want: dlr.Text{ID: "0123456789", Sub: "001", Dlvrd: "001", SubmitDate: "0610191018", DoneDate: "0610191023", Stat: "DELIVRD", Err: "000", Text: "Hello world"},
		},
		{
			// Kannel's fake SMSC and many SMSCs write a lower-case "text:"
			// and 12-digit dates.
			name: "Kannel style",
			in:   "id:3471394857 sub:001 dlvrd:000 submit date:131115094512 done date:131115094540 stat:UNDELIV err:001 text:Kannel test m",
			want: dlr.Text{ID: "3471394857", Sub: "001", Dlvrd: "000", SubmitDate: "131115094512", DoneDate: "131115094540", Stat: "UNDELIV", Err: "001", Text: "Kannel test m"},
		},
		{
			name: "vumi default with a UUID id",
			in:   "id:1b1720be-5f48-41c4-b3f8-6e59dbf45366 sub:001 dlvrd:001 submit date:1305050826 done date:1305050826 stat:DELIVRD err:000 text:",
			want: dlr.Text{ID: "1b1720be-5f48-41c4-b3f8-6e59dbf45366", Sub: "001", Dlvrd: "001", SubmitDate: "1305050826", DoneDate: "1305050826", Stat: "DELIVRD", Err: "000"},
		},
		{
			// vumi's "Yo!" variant: values unpadded (gosmpp#124 shows the same).
			name: "unpadded values",
			in:   "id:1234 sub:1 dlvrd:1 submit date:1305050826 done date:1305050826 stat:DELIVRD err:0 text:hello",
			want: dlr.Text{ID: "1234", Sub: "1", Dlvrd: "1", SubmitDate: "1305050826", DoneDate: "1305050826", Stat: "DELIVRD", Err: "0", Text: "hello"},
		},
		{
			// jsmpp#62: no sub and no dlvrd.
			name: "missing sub and dlvrd",
			in:   "id:9438752 submit date:1506011200 done date:1506011201 stat:EXPIRED err:000 text:",
			want: dlr.Text{ID: "9438752", SubmitDate: "1506011200", DoneDate: "1506011201", Stat: "EXPIRED", Err: "000"},
		},
		{
			// php-smpp#70.
			name: "four-digit err",
			in:   "id:c449ab9744f47b6af1879e49e75e4f40 sub:001 dlvrd:0 submit date:1406061225 done date:1406061226 stat:DELIVRD err:0000 text:Test",
			want: dlr.Text{ID: "c449ab9744f47b6af1879e49e75e4f40", Sub: "001", Dlvrd: "0", SubmitDate: "1406061225", DoneDate: "1406061226", Stat: "DELIVRD", Err: "0000", Text: "Test"},
		},
		{
			name: "14-digit dates",
			in:   "id:77 submit date:20261125181500 done date:20261125181542 stat:DELIVRD err:000",
			want: dlr.Text{ID: "77", SubmitDate: "20261125181500", DoneDate: "20261125181542", Stat: "DELIVRD", Err: "000"},
		},
		{
			name: "extra spaces around and after labels",
			in:   "  id: 12345   sub: 001  dlvrd:001   submit  date: 2301011200 done_date:2301011201  stat: REJECTD err: 005  text:  hi there  ",
			want: dlr.Text{ID: "12345", Sub: "001", Dlvrd: "001", SubmitDate: "2301011200", DoneDate: "2301011201", Stat: "REJECTD", Err: "005", Text: "hi there"},
		},
		{
			name: "labels in any case and order",
			in:   "STAT:delivrd ERR:000 ID:AbC.9:x_y-z SUB:001",
			want: dlr.Text{ID: "AbC.9:x_y-z", Sub: "001", Stat: "delivrd", Err: "000"},
		},
		{
			name: "an empty value before the next label",
			in:   "id:5 sub: dlvrd:1 stat:ENROUTE",
			want: dlr.Text{ID: "5", Dlvrd: "1", Stat: "ENROUTE"},
		},
		{
			name: "text keeps labels inside it",
			in:   "id:5 stat:DELIVRD text:your id:99 stat:FAILED",
			want: dlr.Text{ID: "5", Stat: "DELIVRD", Text: "your id:99 stat:FAILED"},
		},
		{
			name: "unknown fields are skipped",
			in:   "id:5 imsi:24412345 sub:001 mccmnc:24491 stat:DELIVRD err:000",
			want: dlr.Text{ID: "5", Sub: "001", Stat: "DELIVRD", Err: "000"},
		},
		{
			name: "the first non-empty value wins",
			in:   "id:5 stat:DELIVRD stat:FAILED id:6",
			want: dlr.Text{ID: "5", Stat: "DELIVRD"},
		},
		{
			name: "NUL-terminated and CRLF-separated",
			in:   "id:5\r\nstat:DELIVRD\r\nerr:000\x00",
			want: dlr.Text{ID: "5", Stat: "DELIVRD", Err: "000"},
		},
		{
			name: "a label must start a word",
			in:   "xid:1 id:2 substat:X",
			want: dlr.Text{ID: "2"},
		},
		{
			name: "an id of 65 characters",
			in:   "id:" + strings.Repeat("9", 65),
			want: dlr.Text{ID: strings.Repeat("9", 65)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dlr.ParseText(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ParseText(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseText_errors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		is   error
		msg  string
	}{
		{"empty", "", dlr.ErrNoID, "not a receipt text"},
		{"an ordinary SMS", "Hello, see you at 5: bring the id card", dlr.ErrNoID, "no id"},
		{"id without a value", "id: stat:DELIVRD", dlr.ErrNoID, "no id"},
		{"id inside text only", "stat:DELIVRD text:id:5", dlr.ErrNoID, "no id"},
		{"id too long", "id:" + strings.Repeat("a", 66) + " stat:DELIVRD", dlr.ErrBadID, "66 characters, at most 65"},
		{"id with a comma", "id:123,sub:001", dlr.ErrBadID, `character ',' at position 4`},
		{"id with a control character", "id:12\x0134", dlr.ErrBadID, `'\x01'`},
		{"id with non-ASCII", "id:12é", dlr.ErrBadID, "position 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dlr.ParseText(tt.in)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want %v with %q", err, tt.is, tt.msg)
			}
			if got.ID != "" {
				t.Errorf("failed parse returned id %q", got.ID)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	helsinki := time.FixedZone("EET", 2*3600)
	tests := []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{"2611251815", nil, time.Date(2026, 11, 25, 18, 15, 0, 0, time.UTC)},
		{"261125181542", nil, time.Date(2026, 11, 25, 18, 15, 42, 0, time.UTC)},
		{"20261125181542", nil, time.Date(2026, 11, 25, 18, 15, 42, 0, time.UTC)},
		{"9912312359", nil, time.Date(2099, 12, 31, 23, 59, 0, 0, time.UTC)},
		{"2611251815", helsinki, time.Date(2026, 11, 25, 16, 15, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := dlr.ParseDate(tt.in, tt.loc)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "261125181", "2611251815420", "26112518154200000", "2613251815", "2611321815", "2611252415", "26112518a5", "+611251815", "261125 815"} {
		if got, err := dlr.ParseDate(bad, nil); err == nil {
			t.Errorf("ParseDate(%q) = %v, want an error", bad, got)
		}
	}
}

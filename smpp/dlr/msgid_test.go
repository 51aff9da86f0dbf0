package dlr_test

import (
	"reflect"
	"testing"

	"github.com/smsagent/smsagent/smpp/dlr"
)

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"33E95179":             "33e95179",
		"0972660181":           "972660181", // Jasmin#1034
		"972660181":            "972660181",
		"0":                    "0",
		"0000":                 "0",
		"00a0":                 "a0",
		"AbC-0012":             "abc-0012",
		"12345\x00":            "12345", // a C string with its NUL
		"":                     "",
		"9380935605053030457":  "9380935605053030457",
		"1b1720be-5f48-41c4-b": "1b1720be-5f48-41c4-b",
	} {
		if got := dlr.Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCandidates(t *testing.T) {
	tests := []struct {
		name string
		id   string
		rule dlr.Rule
		want []string
	}{
		// jsmpp#56: submit_sm_resp "33E95179" (hex), receipt "870928761"
		// (decimal); 0x33E95179 = 870928761.
		{"auto, decimal receipt of a hex id", "870928761", dlr.Auto, []string{"870928761", "36248389473", "33e95179"}},
		{"auto, hex receipt of a decimal id", "33E95179", dlr.Auto, []string{"33e95179", "870928761"}},
		{"hexdec", "870928761", dlr.HexDec, []string{"33e95179"}},
		{"dechex", "33E95179", dlr.DecHex, []string{"870928761"}},
		// Jasmin#1034: leading zero on one side only.
		{"exact strips leading zeros", "0972660181", dlr.Exact, []string{"972660181"}},
		{"dec strips leading zeros", "0972660181", dlr.Dec, []string{"972660181"}},
		// Jasmin#916: letter case.
		{"hex compares case-insensitively", "ABCDEF", dlr.Hex, []string{"abcdef"}},
		{"exact never converts", "870928761", dlr.Exact, []string{"870928761"}},
		// 20 digits: 2^64 = 18446744073709551616 is exceeded; Kannel's
		// strtoll overflows here.
		{"20-digit decimal id", "98765432109876543210", dlr.Auto, []string{"98765432109876543210", "719982488126778827354640", "55aa54d38e5267eea"}},
		{"20-digit dechex", "55AA54D38E5267EEA", dlr.DecHex, []string{"98765432109876543210"}},
		{"non-numeric id has no conversions", "1b1720be-5f48", dlr.Auto, []string{"1b1720be-5f48"}},
		{"hexdec of an id that is no decimal keeps it", "33E95179", dlr.HexDec, []string{"33e95179"}},
		{"dechex of an id that is no hex keeps it", "msg-1", dlr.DecHex, []string{"msg-1"}},
		{"a single digit is the same in both bases", "7", dlr.Auto, []string{"7"}},
		{"zero", "000", dlr.Auto, []string{"0"}},
		{"empty", "", dlr.Auto, nil},
		{"a signed number is not a number", "-12", dlr.Auto, []string{"-12"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dlr.Candidates(tt.id, tt.rule); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Candidates(%q, %s) = %q, want %q", tt.id, tt.rule, got, tt.want)
			}
		})
	}
}

func TestCandidates_matchStoredKey(t *testing.T) {
	// What the agent does: store Key(submit id), look up Candidates(receipt
	// id). Every pair of the same message must meet; auto must find them all.
	pairs := []struct {
		submit, receipt string
		rule            dlr.Rule
	}{
		{"33E95179", "870928761", dlr.HexDec},
		{"870928761", "33E95179", dlr.DecHex},
		{"0972660181", "972660181", dlr.Dec},
		{"abcdef01", "ABCDEF01", dlr.Hex},
		{"9380935605053030457", "9380935605053030457", dlr.Exact}, // Jasmin#586
		{"823264A31F47B5839", "150106746008534472761", dlr.HexDec},
	}
	for _, p := range pairs {
		for _, rule := range []dlr.Rule{p.rule, dlr.Auto} {
			key := dlr.Key(p.submit)
			found := false
			for _, c := range dlr.Candidates(p.receipt, rule) {
				found = found || c == key
			}
			if !found {
				t.Errorf("%s: receipt %q does not find submit id %q (key %q) among %q", rule, p.receipt, p.submit, key, dlr.Candidates(p.receipt, rule))
			}
		}
	}
}

func TestParseRule(t *testing.T) {
	for _, r := range []dlr.Rule{dlr.Auto, dlr.Exact, dlr.Hex, dlr.Dec, dlr.HexDec, dlr.DecHex} {
		if got, err := dlr.ParseRule(r.String()); err != nil || got != r {
			t.Errorf("ParseRule(%q) = %v, %v", r, got, err)
		}
	}
	if got, err := dlr.ParseRule(""); err != nil || got != dlr.Auto {
		t.Errorf("ParseRule(\"\") = %v, %v", got, err)
	}
	if _, err := dlr.ParseRule("HEX"); err == nil {
		t.Error("ParseRule accepted HEX: configuration words are lower case")
	}
}

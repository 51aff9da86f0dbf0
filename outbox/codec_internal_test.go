package outbox

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
)

var update = flag.Bool("update", false, "rewrite the golden files of the current record version")

var tg = time.Date(2026, 11, 25, 18, 15, 0, 123456789, time.UTC)

// goldenRecord uses every field, so a layout change shows in its bytes.
func goldenRecord() *record {
	return &record{
		Record: smsagent.Record{
			Message: smsagent.Message{
				ID: 4242, ClientID: "order-17", To: smsagent.Address{Value: "358401234567", Kind: smsagent.AddrInternational},
				From: smsagent.Address{Value: "ACME", Kind: smsagent.AddrAlphanumeric}, Text: "Hyvää päivää €",
				Report: true, Encoding: smsagent.EncodingUCS2, Flash: true, Validity: 6 * time.Hour,
				SendAt: tg.Add(-time.Hour), Priority: smsagent.PriorityHigh, Split: smsagent.SplitNumbered,
				UDH: []byte{5, 0, 3, 0x5f, 2, 1}, Meta: []byte(`{"k":"v"}`), File: "batch.json", ReceivedAt: tg.Add(-2 * time.Hour),
			},
			State: smsagent.StateSent, Attempts: 3, Due: tg.Add(-time.Minute), ConcatRef: 0xbeef,
			Parts: []smsagent.Part{
				{State: smsagent.StateDelivered, SMSCID: "0A1B", Stat: "DELIVRD", Err: "000", Submitted: tg, Done: tg.Add(time.Second)},
				{State: smsagent.StateSent, SMSCID: "0A1C", Status: 0, Submitted: tg},
			},
			LastError: "ESME_RTHROTTLED", Submitted: tg,
		},
		Keys:      []string{"a1b", "a1c"},
		Expires:   tg.Add(47 * time.Hour),
		Deadline:  tg.Add(72 * time.Hour),
		RoundTemp: true,
	}
}

// goldenRecordV2 is goldenRecord with what version 2 added.
func goldenRecordV2() *record {
	r := goldenRecord()
	r.Callback = smsagent.Callback{URL: "http://127.0.0.1:8080/dlr?id=17&type=%d", KannelMask: 31}
	return r
}

// goldenRecordV3 is goldenRecordV2 with what version 3 added.
func goldenRecordV3() *record {
	r := goldenRecordV2()
	r.Callback.ReportMask = 12
	r.SMSC = "mitto"
	r.Avoid = []string{"backup", "third"}
	r.Parts[0].SMSC = "mitto"
	r.Parts[1].SMSC = "mitto"
	return r
}

// goldenRecordV4 is goldenRecordV3 with what version 4 added.
func goldenRecordV4() *record {
	r := goldenRecordV3()
	r.Origin = "node-b"
	return r
}

// TestRecord_Golden keeps a record encoded by each version's encoder in
// testdata/record.vN.golden. The decoder must read every one for as long
// as a database of that version may exist; the current version's encoder
// must still produce exactly its bytes (a layout change without a version
// bump fails here). -update rewrites the current version's file only.
func TestRecord_Golden(t *testing.T) {
	for _, tc := range []struct {
		version byte
		want    *record
	}{{1, goldenRecord()}, {2, goldenRecordV2()}, {3, goldenRecordV3()}, {4, goldenRecordV4()}} {
		path := filepath.Join("testdata", fmt.Sprintf("record.v%d.golden", tc.version))
		if *update && recordVersion == tc.version {
			if err := os.WriteFile(path, appendRecord(nil, tc.want), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		golden, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if golden[0] != tc.version {
			t.Fatalf("%s has version %d", path, golden[0])
		}
		got, err := decodeRecord(golden)
		if err != nil {
			t.Fatalf("decode version %d: %v", tc.version, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("decoded version %d record\n got %+v\nwant %+v", tc.version, got, tc.want)
		}
		if recordVersion == tc.version {
			if enc := appendRecord(nil, tc.want); !bytes.Equal(enc, golden) {
				t.Fatalf("encoder output differs from %s; bump recordVersion instead", path)
			}
		}
	}
}

func TestRecord_RoundTrip(t *testing.T) {
	for _, r := range []*record{goldenRecordV4(), {Record: smsagent.Record{Message: smsagent.Message{ID: 1}, State: smsagent.StateQueued}}} {
		got, err := decodeRecord(appendRecord(nil, r))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, r)
		}
	}
}

func TestRecord_DecodeRejects(t *testing.T) {
	enc := appendRecord(nil, goldenRecordV4())
	for i := 0; i < len(enc); i++ {
		if _, err := decodeRecord(enc[:i]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: %v", i, err)
		}
	}
	if _, err := decodeRecord(append(bytes.Clone(enc), 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte: %v", err)
	}
	future := bytes.Clone(enc)
	future[0] = 9
	if _, err := decodeRecord(future); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("future version: %v", err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, goldenRecord()))
	f.Add([]byte{1})
	f.Add([]byte{1, 1, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := decodeRecord(appendRecord(nil, r))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("unstable round trip\n%+v\n%+v", again, r)
		}
	})
}

func TestEvent_RoundTrip(t *testing.T) {
	sub := tg.Add(-time.Second)
	evs := []smsagent.Event{
		{Seq: 7, Kind: smsagent.EventReport, Time: tg, Subject: "42", Report: buildReport(goldenRecordV4(), 1, "why")},
		{Seq: 8, Kind: smsagent.EventReport, Time: tg, Subject: "e8", Report: &smsagent.Report{Type: "report", Status: "unmatched",
			Submitted: &sub, Done: tg, Receipt: &smsagent.RawReceipt{SMSCID: "x", Source: "1", Dest: "2", Text: "id:x"}}},
		{Seq: 9, Kind: smsagent.EventMO, Time: tg, Subject: "e9", MO: &smsagent.MO{Type: "mo", From: "1", To: "2", Text: "hi",
			Encoding: "gsm7", Parts: 3, Incomplete: true, Received: tg}},
		{Seq: 10, Kind: smsagent.EventDuplicate, Time: tg, Subject: "e10", Duplicate: &smsagent.Duplicate{Type: "duplicate",
			File: "f", Messages: []smsagent.DuplicateEntry{{ID: "a", MessageID: 3, To: "+1"}}, Time: tg}},
		{Seq: 11, Kind: smsagent.EventCallbackFailed, Time: tg, Subject: "42", CallbackFailed: &smsagent.CallbackFailed{
			Type: "callback_failed", ID: "c", MessageID: 42, File: "f", Method: "GET", URL: "http://127.0.0.1/x?t=%d",
			Attempts: 9, Since: tg.Add(-time.Hour), GaveUp: tg, LastError: "refused", Reason: "max_age"}},
	}
	for _, ev := range evs {
		got, err := decodeEvent(ev.Seq, appendEvent(nil, &ev))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, ev)
		}
	}
}

func FuzzDecodeEvent(f *testing.F) {
	r := goldenRecord()
	f.Add(appendEvent(nil, &smsagent.Event{Kind: smsagent.EventReport, Time: tg, Subject: "1", Report: buildReport(r, 1, "")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := decodeEvent(1, b)
		if err != nil {
			return
		}
		if _, err := decodeEvent(1, appendEvent(nil, &ev)); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

// TestCallback_Versions: a callback written by version 1 (no event fields)
// still decodes; version 2 keeps a webhook's event id and type.
func TestCallback_Versions(t *testing.T) {
	c := Callback{Key: []byte("k"), Message: 7, Method: "POST", URL: "http://127.0.0.1/x", Body: []byte(`{"a":1}`),
		Created: tg, Attempts: 3}
	v2 := appendCallback(nil, &c)
	v1 := bytes.Clone(v2[:len(v2)-2]) // the two empty strings version 2 appends
	v1[0] = 1
	got, err := decodeCallback([]byte("k"), v1)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("version 1: %+v, %v", got, err)
	}
	c.EventID, c.EventType = "20261125T181500.123Z-7.report", "report"
	got, err = decodeCallback([]byte("k"), appendCallback(nil, &c))
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("version 2: %+v, %v", got, err)
	}
}

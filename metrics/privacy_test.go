package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/metrics"
)

// TestMetrics_NoPersonalData: /metrics is open to every local account, so
// no label or value may carry a phone number, a text or a file name, even
// when the snapshot's free texts do and the SMSC puts a number where a stat
// word or a status belongs.
func TestMetrics_NoPersonalData(t *testing.T) {
	st := sampleStatus()
	st.Binds[1].LastError = "generic_nack for +358401234567"
	st.Intake.LastError = `spool: rejected sms-order-+358401234567.json: text "Your code is 1234"`
	st.Inbox.LastError = "inbox: write sms-order.json: no space left on device"
	st.Health = []string{"intake stalled: rename .work/1-2-sms-order-+358401234567.json: no space left on device"}
	m := metrics.New(&fakeStatus{st: st})
	m.ReceiptApplied("+358401234567", "matched")
	m.ReceiptApplied("DELIVRD", "sms-order.json")
	m.SubmitDone("default", "ESME_RINVDSTADR", time.Millisecond)
	srv := httptest.NewServer(m)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"358401234567", "sms-order", ".json", "Your code", "no space"} {
		if strings.Contains(string(body), p) {
			t.Errorf("the scrape shows %q", p)
		}
	}
	if !strings.Contains(string(body), `smsagent_receipts_total{outcome="matched",stat="other"} 1`) ||
		!strings.Contains(string(body), "smsagent_health_problems 1\n") {
		t.Errorf("the scrape lacks the counts:\n%s", body)
	}
}

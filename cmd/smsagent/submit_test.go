package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/testutil"
	"github.com/smsagent/smsagent/smpp/pdu"
	"github.com/smsagent/smsagent/smpp/smsc"
)

// postMessages posts body to the agent's API with the test token.
func postMessages(t *testing.T, api, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+api+"/api/v1/messages", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer test-token")
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRun_submitAPI: messages posted to the running agent's API are
// answered 202 once stored: the process SIGKILLed right after the answer
// (TerminateProcess on Windows), with the SMSC refusing binds so nothing
// went out, still sends each at the next start, with its exact text and
// coding, and reports it once in inbox/; the same client id posted again
// is the same message; a refused request stores nothing; `smsagent send
// --via api` prints our id; GET /api/v1/messages/{id} gives the report
// once final.
func TestRun_submitAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	sim := testutil.Simulator(t, smsc.Options{})
	sim.SetFaults(smsc.Faults{RefuseBinds: pdu.StatusBindFail, RefuseBindsCount: 1 << 30})
	file, spool, api := runConfig(t, sim)
	ready := func() bool { code, _ := get(t, "http://"+api+"/healthz"); return code == 200 }

	p := startProcess(t, file)
	testutil.Eventually(t, 20*time.Second, "the API", ready)
	code, body := postMessages(t, api, "application/json",
		`[{"id":"api-1","to":"+358401111111","text":"Grüße from the API 👋"},{"to":"+358402222222","text":"second"}]`)
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", code, body)
	}
	p.Kill(t)
	var first struct {
		IDs        []uint64 `json:"ids"`
		Duplicates []string `json:"duplicates"`
	}
	if err := json.Unmarshal([]byte(body), &first); err != nil || len(first.IDs) != 2 || len(first.Duplicates) != 0 {
		t.Fatalf("answer %s: %v", body, err)
	}

	sim.SetFaults(smsc.Faults{})
	defer runInProcess(t, file)()
	testutil.Eventually(t, 20*time.Second, "the API again", ready)

	// The same client id and recipient again: the message queued before.
	code, body = postMessages(t, api, "application/x-ndjson", `{"id":"api-1","to":"+358401111111","text":"changed"}`+"\n")
	if code != http.StatusAccepted || body != fmt.Sprintf(`{"ids":[%d],"duplicates":["api-1"]}`+"\n", first.IDs[0]) {
		t.Errorf("repeat: %d %s", code, body)
	}
	// Refused whole: nothing of it stored.
	code, body = postMessages(t, api, "application/json", `[{"to":"+358403333333","text":"fine"},{"to":"+358404444444","text":""}]`)
	if code != http.StatusBadRequest || !strings.Contains(body, `"index":2`) || !strings.Contains(body, `"problems"`) {
		t.Errorf("refusal: %d %s", code, body)
	}
	var out, errOut strings.Builder
	if c := run(context.Background(), []string{"send", "--via", "api", "--config", file, "--to", "+358405555555",
		"--text", "from send"}, &out, &errOut); c != exitOK {
		t.Fatalf("send --via api: exit %d: %s", c, errOut.String())
	}
	if id := strings.TrimSpace(out.String()); id == "" || strings.ContainsAny(id, " \n") {
		t.Errorf("send --via api printed %q, want our id", out.String())
	}

	testutil.Eventually(t, 30*time.Second, "three reports in inbox/", func() bool {
		m, _ := filepath.Glob(filepath.Join(spool, "inbox", "*.report.json"))
		return len(m) == 3
	})
	texts := map[string]pdu.DataCoding{}
	for _, s := range sim.Submits() {
		if _, twice := texts[s.Text]; twice {
			t.Errorf("%q submitted twice", s.Text)
		}
		texts[s.Text] = s.DataCoding
	}
	want := map[string]pdu.DataCoding{"Grüße from the API 👋": pdu.CodingUCS2, "second": pdu.CodingDefault, "from send": pdu.CodingDefault}
	if len(texts) != len(want) {
		t.Errorf("the SMSC got %v, want %v", texts, want)
	}
	for text, dc := range want {
		if got, ok := texts[text]; !ok || got != dc {
			t.Errorf("%q: coding %v (sent %t), want %v", text, got, ok, dc)
		}
	}
	reports, _ := filepath.Glob(filepath.Join(spool, "inbox", "*.report.json"))
	for _, f := range reports {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r struct{ Status, File string }
		if err := json.Unmarshal(b, &r); err != nil || r.Status != "delivered" || r.File != "" {
			t.Errorf("%s: %s", f, b)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/api/v1/messages/%d", api, first.IDs[0]), nil)
	req.Header.Set("Authorization", "Bearer test-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		State  string
		Final  bool
		Report struct{ ID, Status string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || !st.Final || st.Report.ID != "api-1" || st.Report.Status != "delivered" {
		t.Errorf("GET the message: %+v, %v", st, err)
	}
}

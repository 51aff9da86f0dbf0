package admin_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/admin"
)

type fakeSeries struct{ s smsagent.Series }

func (f fakeSeries) Series() smsagent.Series { return f.s }

// TestPage_Served: the status page and its two files come from the binary,
// with their types and a policy that lets the page load nothing else;
// other names under /ui/ and other methods are refused.
func TestPage_Served(t *testing.T) {
	s := startServer(t, nil)
	for path, typ := range map[string]string{
		"/":           "text/html; charset=utf-8",
		"/ui/app.js":  "text/javascript; charset=utf-8",
		"/ui/app.css": "text/css; charset=utf-8",
	} {
		a := s.do(t, "GET", path, "", nil).want(t, http.StatusOK)
		if got := a.header.Get("Content-Type"); got != typ {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, typ)
		}
		if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") ||
			!strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
	s.do(t, "GET", "/ui/index.html.bak", "", nil).want(t, http.StatusNotFound)
	s.do(t, "GET", "/ui/../server.go", "", nil).want(t, http.StatusNotFound)
	s.do(t, "POST", "/", testToken, nil).want(t, http.StatusMethodNotAllowed)
}

// TestPage_LoadsNothingFromElsewhere reads the page's files: no URL with a
// scheme (but the SVG namespace, a name, not a load), no inline script or
// style, no markup built from strings.
func TestPage_LoadsNothingFromElsewhere(t *testing.T) {
	urls := regexp.MustCompile(`[a-z]+://[^"'\s)]*`)
	for _, name := range []string{"index.html", "app.js", "app.css"} {
		b, err := os.ReadFile(filepath.Join("ui", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range urls.FindAllString(string(b), -1) {
			if u != "http://www.w3.org/2000/svg" {
				t.Errorf("%s names %s", name, u)
			}
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "<script>", "style=", "onclick="} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
}

// TestServer_Series answers the agent's series as it is, without the token
// on loopback; 404 without a source.
func TestServer_Series(t *testing.T) {
	at := time.Date(2026, 11, 25, 18, 15, 10, 0, time.UTC)
	src := fakeSeries{smsagent.Series{StepSeconds: 10, Times: []time.Time{at}, Submits: []float64{2.5},
		Receipts: []float64{1}, MO: []float64{0}, Files: []float64{0.1}}}
	s := startServer(t, func(o *admin.Options) { o.Series = src })
	a := s.do(t, "GET", "/api/v1/series", "", nil).want(t, http.StatusOK)
	want := `{"step_seconds":10,"times":["2026-11-25T18:15:10Z"],"submits_per_sec":[2.5],"receipts_per_sec":[1],"mo_per_sec":[0],"files_per_sec":[0.1]}`
	if strings.TrimSpace(a.body) != want {
		t.Errorf("series: %s\nwant %s", a.body, want)
	}
	startServer(t, nil).do(t, "GET", "/api/v1/series", "", nil).want(t, http.StatusNotFound)
}

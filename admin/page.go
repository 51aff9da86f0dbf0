package admin

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
)

// The status page: HTML, CSS and JavaScript built into the binary, served
// at / and /ui/. They carry no data; the page reads the API like any
// client, with the token a person enters (kept in the browser's session
// storage), so the same rules decide what it shows.
//
//go:embed ui
var uiFiles embed.FS

// pageCSP keeps the page to its own files: no inline script, nothing
// loaded from elsewhere, no framing.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// uiTypes are the content types of the page's files.
var uiTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
}

// page serves the embedded file name, or with "" the one /ui/{file} names.
func (s *Server) page(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", http.MethodGet)
			writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use GET")
			return
		}
		file := name
		if file == "" {
			file = "ui/" + r.PathValue("file")
		}
		data, err := fs.ReadFile(uiFiles, file)
		typ, known := uiTypes[path.Ext(file)]
		if err != nil || !known {
			writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
			return
		}
		h := w.Header()
		h.Set("Content-Type", typ)
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(data)
		}
	})
}

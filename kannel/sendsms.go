package kannel

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/internal/httpserve"
)

// Path is where smsbox serves sendsms by default (sendsms-url).
const Path = "/cgi-bin/sendsms"

// maxBody bounds a POST's text: a sendsms request is a few hundred bytes.
const maxBody = 64 << 10

// Kannel's answers (gw/smsbox.c), word for word.
const (
	answerAccepted  = "0: Accepted for delivery"
	answerAuth      = "Authorization failed for sendsms"
	answerTemporary = "Temporal failure, try again later."
	answerUnknown   = "Unknown request."
)

// User is one sendsms user (Kannel's sendsms-user group).
type User struct {
	Username, Password string
	// DefaultFrom is the sender of a request without from; "" requires one.
	DefaultFrom string
}

// Submitter stores the messages of a request, all or none; the agent
// satisfies it. An error with Problems refuses the request; any other means
// it could not be stored now.
type Submitter interface {
	SubmitMessages(ctx context.Context, msgs []smsagent.Message) (smsagent.BatchResult, error)
}

// Options configure a Server.
type Options struct {
	Users  []User
	Submit Submitter
	// Clock gives now for deferred; nil is time.Now.
	Clock  func() time.Time
	Logger *slog.Logger
}

// Server is the sendsms listener. New prepares it, Start runs it in the
// background, Close stops it.
type Server struct {
	opts  Options
	log   *slog.Logger
	users map[string]user
	http  *httpserve.Server
}

// user is a User with its password kept as a digest, compared in constant
// time.
type user struct {
	digest      [sha256.Size]byte
	defaultFrom smsagent.Address
}

// New checks the options: at least one user, names unique, passwords set,
// default senders valid.
func New(opts Options) (*Server, error) {
	if opts.Submit == nil {
		return nil, errors.New("kannel: Options.Submit is required")
	}
	if len(opts.Users) == 0 {
		return nil, errors.New("kannel: no sendsms user")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: log, users: make(map[string]user, len(opts.Users))}
	for _, u := range opts.Users {
		if u.Username == "" || u.Password == "" {
			return nil, errors.New("kannel: a user needs a username and a password")
		}
		if _, dup := s.users[u.Username]; dup {
			return nil, fmt.Errorf("kannel: user %q given twice", u.Username)
		}
		from, err := smsagent.ParseSender(u.DefaultFrom)
		if err != nil {
			return nil, fmt.Errorf("kannel: user %s: default_from: %w", u.Username, err)
		}
		s.users[u.Username] = user{digest: sha256.Sum256([]byte(u.Password)), defaultFrom: from}
	}
	s.http = httpserve.New("kannel", s, nil, log)
	return s, nil
}

// Start listens on addr and serves in the background; ctx bounds only the
// listen call.
func (s *Server) Start(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("kannel: %w", err)
	}
	if err := s.Serve(ln); err != nil {
		_ = ln.Close()
		return err
	}
	return nil
}

// Serve serves on ln in the background; the Server owns ln from then on.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.http.Serve(ln); err != nil {
		return err
	}
	s.log.Info("kannel: sendsms listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the address Start listens on; nil before.
func (s *Server) Addr() net.Addr { return s.http.Addr() }

// Close stops accepting, lets requests in progress finish until ctx ends,
// and waits for the serving goroutine.
func (s *Server) Close(ctx context.Context) error { return s.http.Close(ctx) }

// reply answers as smsbox does: text/html, no caching, no trailing line
// end.
func reply(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Pragma", "no-cache")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// refusal is an answer other than 202.
type refusal struct {
	code int
	body string
}

func rejected(format string, args ...any) *refusal {
	return &refusal{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// ServeHTTP answers /cgi-bin/sendsms.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		reply(w, http.StatusNotFound, answerUnknown)
		return
	}
	req, ref := s.read(w, r)
	if ref == nil {
		var msgs []smsagent.Message
		if msgs, ref = s.messages(req, r.Method == http.MethodPost); ref == nil {
			ref = s.store(r.Context(), msgs)
			if ref == nil {
				reply(w, http.StatusAccepted, strings.TrimSuffix(strings.Repeat(answerAccepted+"\n", len(msgs)), "\n"))
				return
			}
		}
	}
	if ref.code == http.StatusForbidden {
		s.log.Info("kannel: sendsms refused: no valid user and password", "remote", r.RemoteAddr)
	}
	reply(w, ref.code, ref.body)
}

// request is a sendsms request's fields, from the query string (GET) or
// the X-Kannel-* headers and the body (POST).
type request struct {
	get func(name string) string
	// text and charset are the body and its Content-Type charset (POST);
	// for GET they come through get.
	text, charset string
	post          bool
}

// field returns the first of names that is set.
func (q *request) field(names ...string) string {
	for _, n := range names {
		if v := q.get(n); v != "" {
			return v
		}
	}
	return ""
}

// headerOf maps sendsms field names to their X-Kannel-* header.
var headerOf = map[string]string{
	"username": "X-Kannel-Username", "password": "X-Kannel-Password", "from": "X-Kannel-From",
	"to": "X-Kannel-To", "smsc": "X-Kannel-SMSC", "udh": "X-Kannel-UDH", "dlr-url": "X-Kannel-DLR-URL",
	"dlr-mask": "X-Kannel-DLR-Mask", "account": "X-Kannel-Account", "binfo": "X-Kannel-BInfo",
	"coding": "X-Kannel-Coding", "pid": "X-Kannel-PID", "mwi": "X-Kannel-MWI", "mclass": "X-Kannel-MClass",
	"alt-dcs": "X-Kannel-Alt-DCS", "compress": "X-Kannel-Compress", "validity": "X-Kannel-Validity",
	"deferred": "X-Kannel-Deferred", "rpi": "X-Kannel-RPI", "priority": "X-Kannel-Priority",
	"meta-data": "X-Kannel-Meta-Data",
}

// read takes the fields of a request. A POST must be text/plain (its body
// is the text); XML and WML are not served (415), anything else is not a
// sendsms body (400).
func (s *Server) read(w http.ResponseWriter, r *http.Request) (*request, *refusal) {
	if r.Method != http.MethodPost {
		q := r.URL.Query()
		return &request{get: q.Get}, nil
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err != nil:
		return nil, rejected("Invalid content-type")
	case mt == "text/plain":
	case mt == "application/octet-stream":
		return nil, rejected("Coding field misformed, rejected: 8-bit data (application/octet-stream) is not supported here")
	case mt == "text/xml" || mt == "text/html" || mt == "text/vnd.wap.wml":
		return nil, &refusal{http.StatusUnsupportedMediaType, "Unsupported content-type, rejected"}
	default:
		return nil, rejected("Invalid content-type")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, rejected("Charset or body misformed, rejected: the body is larger than %d bytes or was cut", maxBody)
	}
	get := func(name string) string {
		if h, ok := headerOf[name]; ok {
			return r.Header.Get(h)
		}
		return ""
	}
	return &request{get: get, text: string(body), charset: params["charset"], post: true}, nil
}

// messages checks a request in smsbox's order (the user, then the
// recipients, then the other fields) and makes one message per recipient.
func (s *Server) messages(q *request, post bool) ([]smsagent.Message, *refusal) {
	u, ok := s.users[q.field("username", "user")]
	given := sha256.Sum256([]byte(q.field("password", "pass")))
	if !ok || subtle.ConstantTimeCompare(given[:], u.digest[:]) != 1 {
		return nil, &refusal{http.StatusForbidden, answerAuth}
	}
	to := strings.Fields(q.field("to"))
	if len(to) == 0 {
		if post {
			return nil, rejected("Missing receiver(s) number(s), rejected")
		}
		return nil, rejected("Missing receiver number, rejected")
	}
	// Every message asks for a delivery receipt, as message files do by
	// default: its final report in inbox/ says delivered or why not.
	m := smsagent.Message{Report: true}
	if ref := s.fields(q, u, &m); ref != nil {
		return nil, ref
	}
	msgs := make([]smsagent.Message, 0, len(to))
	for _, n := range to {
		addr, err := smsagent.ParseNumber(n)
		if err != nil || strings.Trim(n, "0123456789 +-") != "" || addr.Kind == smsagent.AddrAlphanumeric {
			// smsbox drops such numbers; dropping is a silent loss here,
			// so the request is refused whole with its wording.
			return nil, rejected("Number(s) has/have been denied by white- and/or black-lists.")
		}
		one := m
		one.To = addr
		msgs = append(msgs, one)
	}
	return msgs, nil
}

// unsupported are the fields smsagent cannot honour, by field name and the
// name smsbox gives them in its answers.
var unsupported = []struct{ field, name string }{
	{"account", "Account"}, {"binfo", "BInfo"}, {"meta-data", "Meta-Data"},
}

// ranged are the numeric fields with the range smsbox accepts, by the name
// its answers give them.
var ranged = []struct {
	field, name string
	max         int
	supported   bool
}{
	{"mclass", "MClass", 3, true}, {"mwi", "MWI", 7, false}, {"coding", "Coding", 2, true},
	{"compress", "Compress", 1, false}, {"alt-dcs", "Alt-DCS", 1, false}, {"rpi", "RPI", 2, false},
	{"pid", "PID", 255, false}, {"priority", "Priority", 3, true},
}

// number reads an integer field as smsbox does: one that is not a number
// counts as unset (-1).
func number(v string) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return -1
	}
	return n
}

// fields fills m from everything but the recipients.
func (s *Server) fields(q *request, u user, m *smsagent.Message) *refusal {
	for _, f := range ranged {
		v := q.field(f.field)
		if v == "" || number(v) == -1 {
			continue
		}
		if n := number(v); n < 0 || n > f.max {
			return rejected("%s field misformed, rejected", f.name)
		}
		if !f.supported {
			return rejected("%s field misformed, rejected: %s is not supported here", f.name, f.field)
		}
	}
	for _, f := range unsupported {
		if q.field(f.field) != "" {
			return rejected("%s field misformed, rejected: %s is not supported here", f.name, f.field)
		}
	}
	if ref := dlr(q, m); ref != nil {
		return ref
	}
	// Kannel's smsc names the SMSC connection (its smsc-id); here it pins
	// the message to the SMSC account of that name.
	if v := q.field("smsc"); v != "" {
		if err := smsagent.CheckAccountName(v); err != nil {
			return rejected("SMSC field misformed, rejected: %v", err)
		}
		m.SMSC = v
	}
	from := u.defaultFrom
	if v := q.field("from"); v != "" {
		a, err := smsagent.ParseSender(v)
		if err != nil {
			return rejected("From field misformed, rejected: %v", err)
		}
		from = a
	}
	if from.Value == "" {
		return rejected("Sender missing and no global set, rejected")
	}
	m.From = from
	if ref := s.content(q, m); ref != nil {
		return ref
	}
	switch number(q.field("mclass")) {
	case 0:
		m.Flash = true
	case 1, 2, 3:
		return rejected("MClass field misformed, rejected: only class 0 (flash) is supported here")
	}
	if number(q.field("priority")) > 0 {
		m.Priority = smsagent.PriorityHigh
	}
	for _, f := range []struct {
		field, name string
		set         func(time.Duration)
	}{
		{"validity", "Validity", func(d time.Duration) { m.Validity = d }},
		{"deferred", "Deferred", func(d time.Duration) { m.SendAt = s.opts.Clock().Add(d) }},
	} {
		n := number(q.field(f.field))
		if n < -1 && q.field(f.field) != "" {
			return rejected("%s field misformed, rejected", f.name)
		}
		if n > 0 {
			f.set(time.Duration(n) * time.Minute)
		}
	}
	return nil
}

// dlr sets the message's callback from dlr-url and dlr-mask: a GET of the
// URL with Kannel's escapes for each event the mask selects. A mask
// without a URL would report to the user's dlr-url, which smsagent's users
// do not have, so it is refused rather than dropped.
func dlr(q *request, m *smsagent.Message) *refusal {
	u := q.field("dlr-url", "dlrurl")
	raw := q.field("dlr-mask", "dlrmask")
	mask := number(raw)
	if raw != "" && (mask < -1 || mask > 66) {
		return rejected("DLR-Mask field misformed, rejected")
	}
	if u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return rejected("DLR-URL field misformed, rejected")
	}
	switch {
	case mask > 0 && u == "":
		return rejected("DLR-URL field misformed, rejected: dlr-mask %d needs a dlr-url (sendsms users have none of their own here)", mask)
	case mask > 0:
		m.Callback = smsagent.Callback{URL: u, KannelMask: mask}
	}
	return nil
}

// content sets the text, its coding and the UDH.
func (s *Server) content(q *request, m *smsagent.Message) *refusal {
	raw, charset := q.text, q.charset
	if !q.post {
		raw, charset = q.get("text"), q.get("charset")
	}
	if v := q.field("udh"); v != "" {
		udh := []byte(v)
		if q.post {
			if udh = hexOctets(v); udh == nil {
				return rejected("UDH field misformed, rejected")
			}
		}
		switch {
		case len(udh) > 140:
			return rejected("UDH field is too long, rejected")
		case int(udh[0]) != len(udh)-1:
			return rejected("UDH field misformed, rejected")
		}
		m.UDH = udh
	}
	coding := number(q.field("coding"))
	switch {
	case coding == -1 && len(m.UDH) > 0, coding == 1:
		// smsbox takes a request with a UDH and no coding as 8-bit.
		return rejected("Coding field misformed, rejected: 8-bit data (coding 1) is not supported here; give coding 0 or 2")
	case coding == 0:
		m.Encoding = smsagent.EncodingGSM7
	case coding == 2:
		m.Encoding = smsagent.EncodingUCS2
	default:
		m.Encoding = smsagent.EncodingAuto
	}
	text, ok := decodeText(raw, charset)
	if !ok {
		return rejected("Charset or body misformed, rejected")
	}
	m.Text = text
	return nil
}

// decodeText turns the text's bytes into Unicode by their charset: UTF-8
// (the default), ISO-8859-1 or UTF-16BE, the charsets smsbox converts.
func decodeText(raw, charset string) (string, bool) {
	switch strings.ToUpper(strings.TrimSpace(charset)) {
	case "", "UTF-8", "UTF8":
		return raw, utf8.ValidString(raw)
	case "ISO-8859-1", "ISO8859-1", "LATIN1", "ISO_8859-1":
		rs := make([]rune, len(raw))
		for i := range len(raw) {
			rs[i] = rune(raw[i])
		}
		return string(rs), true
	case "UTF-16BE", "UCS-2", "UCS-2BE":
		if len(raw)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(raw)/2)
		for i := range u {
			u[i] = uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
		}
		return string(utf16.Decode(u)), true
	}
	return "", false
}

// hexOctets reads the hex of an X-Kannel-UDH header; nil when it is not
// hex.
func hexOctets(v string) []byte {
	v = strings.TrimSpace(v)
	if len(v) == 0 || len(v)%2 != 0 {
		return nil
	}
	out := make([]byte, len(v)/2)
	for i := range out {
		n, err := strconv.ParseUint(v[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil
		}
		out[i] = byte(n)
	}
	return out
}

// problemsError is what a refused request's error offers.
type problemsError interface {
	error
	Problems() []smsagent.Problem
}

// store hands the messages to the agent and turns its refusal into
// smsbox's form.
func (s *Server) store(ctx context.Context, msgs []smsagent.Message) *refusal {
	_, err := s.opts.Submit.SubmitMessages(ctx, msgs)
	if err == nil {
		return nil
	}
	var pe problemsError
	if errors.As(err, &pe) {
		why := pe.Error()
		if ps := pe.Problems(); len(ps) > 0 {
			why = ps[0].Message
		}
		return rejected("%s, rejected", why)
	}
	s.log.Warn("kannel: sendsms messages not stored", "err", err)
	return &refusal{http.StatusServiceUnavailable, answerTemporary}
}

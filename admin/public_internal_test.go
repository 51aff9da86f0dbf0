package admin

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/smsagent/smsagent"
)

// statusText classifies every field of smsagent.Status that can hold text,
// by its JSON path. publicStatus must treat each as written here; a field
// added to the snapshot fails TestPublicStatus_EveryTextClassified until it
// is classified (and handled) here and in publicStatus.
var statusText = map[string]string{
	"version":                        "public",  // the agent's version
	"binds.mode":                     "public",  // a bind mode word
	"binds.state":                    "public",  // a bind state word
	"binds.smsc":                     "public",  // an account name from the configuration
	"webhooks.url":                   "private", // may carry a token in its query
	"webhooks.last_error":            "private", // the endpoint's answer
	"hooks.command":                  "private", // a path on this machine
	"hooks.last_error":               "private", // the command's failure, with its path
	"smscs.name":                     "public",  // an account name from the configuration
	"smscs.state":                    "public",  // up | down
	"smscs.failing_over_to":          "public",  // account names from the configuration
	"queue.by_state":                 "public",  // keys are state words
	"binds.last_error":               "private", // SMSC and network errors; may echo what was sent
	"intake.last_error":              "private", // names rejected files, quotes numbers and texts
	"inbox.last_error":               "private", // storage errors with paths
	"health":                         "subject", // "subject: detail": only the subject is public
	"cluster.node":                   "public",  // a node name from the configuration
	"cluster.nodes.node":             "public",  // a node name from the configuration
	"cluster.nodes.version":          "public",  // the node's version
	"cluster.nodes.outbox":           "public",  // keys are state words
	"cluster.nodes.binds.mode":       "public",  // a bind mode word
	"cluster.nodes.binds.state":      "public",  // a bind state word
	"cluster.nodes.binds.smsc":       "public",  // an account name from the configuration
	"cluster.nodes.binds.last_error": "private", // SMSC and network errors
}

// TestPublicStatus_EveryTextClassified walks the snapshot's type: a string,
// a list of strings or a map keyed by strings that statusText does not
// classify fails here, so no new free text reaches the open view unread.
func TestPublicStatus_EveryTextClassified(t *testing.T) {
	var found []string
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		switch typ.Kind() {
		case reflect.String:
			found = append(found, path)
		case reflect.Slice, reflect.Array:
			if typ.Elem().Kind() == reflect.String {
				found = append(found, path)
				return
			}
			walk(typ.Elem(), path)
		case reflect.Map:
			if typ.Key().Kind() == reflect.String {
				found = append(found, path)
				return
			}
			walk(typ.Elem(), path)
		case reflect.Pointer:
			walk(typ.Elem(), path)
		case reflect.Struct:
			if typ.PkgPath() == "time" {
				return
			}
			for i := range typ.NumField() {
				f := typ.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" || !f.IsExported() {
					continue
				}
				if name == "" {
					name = f.Name
				}
				p := name
				if path != "" {
					p = path + "." + name
				}
				walk(f.Type, p)
			}
		}
	}
	walk(reflect.TypeOf(smsagent.Status{}), "")
	for _, p := range found {
		if _, ok := statusText[p]; !ok {
			t.Errorf("status field %s holds text and is not classified: decide whether a local user without the "+
				"admin token may see it, add it to statusText and handle it in publicStatus", p)
		}
	}
	for p := range statusText {
		if !slices.Contains(found, p) {
			t.Errorf("statusText classifies %s, which the snapshot no longer has", p)
		}
	}
}

func TestSubject(t *testing.T) {
	for line, want := range map[string]string{
		"intake stalled: rename x: no space":  "intake stalled",
		"smsc: no session bound for 2m":       "smsc",
		"stopping":                            "stopping",
		"SMSC refused the credentials: ESME_": "SMSC refused the credentials",
		"":                                    "",
	} {
		if got := subject(line); got != want {
			t.Errorf("subject(%q) = %q, want %q", line, got, want)
		}
	}
}

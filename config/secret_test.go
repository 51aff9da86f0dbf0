package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/smsagent/smsagent/config"
)

const pw = "hunter2"

// TestSecret_Redaction prints a secret every way a program might, alone and
// inside the structs that carry it, and checks the value never appears.
func TestSecret_Redaction(t *testing.T) {
	s := config.NewSecret(pw)
	smsc := config.SMSC{SystemID: "id", Password: s}
	c := &config.Config{SMSC: smsc, Admin: config.Admin{Token: s}}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-8v", "%T %v"} {
		outputs = append(outputs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, &s), fmt.Sprintf(verb, smsc), fmt.Sprintf(verb, c))
	}
	outputs = append(outputs, s.String(), s.GoString(), fmt.Sprint(s), fmt.Sprintln(s),
		fmt.Errorf("bind failed with %v", s).Error(), errors.New(fmt.Sprint(c)).Error())

	for _, v := range []any{s, smsc, c} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(j), string(y))
	}

	var text, js bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&text, nil), slog.NewJSONHandler(&js, nil)} {
		l := slog.New(h)
		l.Info("bind", "password", s, "smsc", smsc, "cfg", c)
		l.Info("group", slog.Group("smsc", "password", s))
		l.Info("attr", slog.Any("pw", s))
	}
	outputs = append(outputs, text.String(), js.String())
	outputs = append(outputs, string(c.Effective()))

	for _, out := range outputs {
		if strings.Contains(out, pw) || strings.Contains(out, fmt.Sprintf("%x", pw)) {
			t.Errorf("secret leaked: %s", out)
		}
	}
	if !strings.Contains(text.String(), "password=[redacted]") || !strings.Contains(js.String(), `"password":"[redacted]"`) {
		t.Errorf("slog output does not show [redacted]:\n%s\n%s", text.String(), js.String())
	}
	if got := fmt.Sprintf("%v|%s|%#v|%d", s, s, s, s); got != "[redacted]|[redacted]|[redacted]|[redacted]" {
		t.Errorf("verbs = %q", got)
	}
	if s.Reveal() != pw {
		t.Errorf("Reveal = %q", s.Reveal())
	}
}

func TestSecret_Empty(t *testing.T) {
	var s config.Secret
	if !s.IsZero() || fmt.Sprint(s) != "" {
		t.Errorf("empty secret prints %q", fmt.Sprint(s))
	}
}

// TestSecret_Panic checks the value a recovered panic carries prints
// redacted, as the runtime prints an unrecovered one through String.
func TestSecret_Panic(t *testing.T) {
	got := func() (msg string) {
		defer func() { msg = fmt.Sprint(recover()) }()
		panic(config.NewSecret(pw))
	}()
	if got != "[redacted]" {
		t.Errorf("recovered panic prints %q", got)
	}
}

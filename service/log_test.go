package service

import (
	"fmt"
	"log/slog"
	"reflect"
	"testing"
)

type fakeEventLog struct{ events []string }

func (f *fakeEventLog) add(kind string, id uint32, msg string) error {
	f.events = append(f.events, fmt.Sprintf("%s %d %s", kind, id, msg))
	return nil
}
func (f *fakeEventLog) Info(id uint32, msg string) error    { return f.add("info", id, msg) }
func (f *fakeEventLog) Warning(id uint32, msg string) error { return f.add("warning", id, msg) }
func (f *fakeEventLog) Error(id uint32, msg string) error   { return f.add("error", id, msg) }

func TestEventHandler(t *testing.T) {
	el := &fakeEventLog{}
	log := slog.New(newEventHandler(el, slog.LevelInfo))
	log.Debug("hidden")
	log.Info("bound", "session", 1)
	log.With("smsc", "a.test:2775").WithGroup("bind").Warn("throttled", "status", "0x58")
	log.Error("store failed", "err", "disk full")
	want := []string{
		"info 1 level=INFO msg=bound session=1",
		"warning 2 level=WARN msg=throttled smsc=a.test:2775 bind.status=0x58",
		"error 3 level=ERROR msg=\"store failed\" err=\"disk full\"",
	}
	if !reflect.DeepEqual(el.events, want) {
		t.Errorf("events:\n%q\nwant\n%q", el.events, want)
	}
}

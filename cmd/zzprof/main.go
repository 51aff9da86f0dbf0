package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/smsagent/smsagent"
	"github.com/smsagent/smsagent/msgfile"
	"github.com/smsagent/smsagent/outbox"
)

func rss() string {
	b, _ := os.ReadFile("/proc/self/status")
	var out string
	for _, l := range splitLines(string(b)) {
		if len(l) > 6 && (l[:6] == "VmHWM:" || l[:6] == "VmRSS:") {
			out += l + " "
		}
	}
	return out
}
func splitLines(s string) []string {
	var r []string
	st := 0
	for i := range s {
		if s[i] == '\n' {
			r = append(r, s[st:i])
			st = i + 1
		}
	}
	return r
}

func main() {
	f, _ := os.Open(os.Args[1])
	msgs, err := msgfile.Parse(f, "big.ndjson", msgfile.Options{})
	if err != nil {
		panic(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Println("parsed", len(msgs), "heap", ms.HeapAlloc>>20, "MiB", rss())
	os.RemoveAll("/tmp/mem/prof.db")
	s, err := outbox.Open("/tmp/mem/prof.db", outbox.Options{})
	if err != nil {
		panic(err)
	}
	now := time.Now()
	for i := range msgs {
		msgs[i].ReceivedAt = now
	}
	if len(os.Args) > 2 {
		pf, _ := os.Create(os.Args[2])
		go func() {
			time.Sleep(300 * time.Millisecond)
			pprof.WriteHeapProfile(pf)
			pf.Close()
		}()
	}
	_, err = s.Enqueue(context.Background(), smsagent.Batch{Claim: "c", File: "big.ndjson", Messages: msgs})
	fmt.Println("enqueued", err, rss())
	s.Close(context.Background())
}

package hookrun_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/smsagent/smsagent/internal/hookrun"
)

// BenchmarkRun runs a program that exits at once, four at a time
// (hooks.concurrency's default): the cost of a run, start to reap, which
// bounds how many events a second the event command can follow. "true" is
// the system's true(1), a small C program; "go" this test binary, a Go
// program of 10 MB with its runtime to start, printing a few lines.
func BenchmarkRun(b *testing.B) {
	programs := map[string][]string{"go": {os.Args[0]}}
	if p, err := exec.LookPath("true"); err == nil {
		programs["true"] = []string{p}
	}
	env := helperEnv("output")
	for name, argv := range programs {
		b.Run(name, func(b *testing.B) {
			b.SetParallelism(2) // × GOMAXPROCS (2 here): four runs at once
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := hookrun.Run(context.Background(), argv, env, "", time.Minute, 4096); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
		})
	}
}

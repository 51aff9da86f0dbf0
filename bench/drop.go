package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// dropper puts the workload's files into outgoing/ the way a producer
// should: written elsewhere on the same file system, then renamed in. The
// writing happens in newDropper, before the clock starts; run only renames.
type dropper struct {
	w        Workload
	rec      *recorder
	outgoing string
	stage    string // the written files, named by message index
}

func newDropper(w Workload, spoolDir string, rec *recorder) (*dropper, error) {
	d := &dropper{w: w, rec: rec, outgoing: filepath.Join(spoolDir, "outgoing"),
		stage: filepath.Join(spoolDir, "..", "stage")}
	if err := os.MkdirAll(d.stage, 0o750); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	n := w.count()
	if w.Arrival == ArrivalNDJSON {
		return d, d.write("bulk.ndjson", func(b *bufio.Writer) { _ = w.writeNDJSON(b, 0, n) })
	}
	var line []byte
	for i := range n {
		line = w.appendMessage(line[:0], i)
		if err := os.WriteFile(filepath.Join(d.stage, d.name(i)), line, 0o640); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	return d, nil
}

func (d *dropper) name(i int) string { return fmt.Sprintf("m%08d.json", i) }

func (d *dropper) write(name string, fill func(*bufio.Writer)) error {
	f, err := os.Create(filepath.Join(d.stage, name))
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	b := bufio.NewWriterSize(f, 1<<16)
	fill(b)
	if err := b.Flush(); err != nil {
		_ = f.Close()
		return fmt.Errorf("bench: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// run renames the files in: the NDJSON file at once, single files as fast
// as possible or at the workload's rate.
func (d *dropper) run(ctx context.Context) error {
	switch d.w.Arrival {
	case ArrivalNDJSON:
		d.rec.drop(0, d.w.count())
		return os.Rename(filepath.Join(d.stage, "bulk.ndjson"), filepath.Join(d.outgoing, "bulk.ndjson"))
	case ArrivalFiles:
		for i := range d.w.count() {
			if err := d.move(i); err != nil {
				return err
			}
		}
		return ctx.Err()
	}
	// A steady rate: every millisecond, rename the files due by then, so
	// the offered load is smooth at any rate a timer can pace.
	n, begun := d.w.count(), time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := 0; i < n; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		due := min(n, int(time.Since(begun).Seconds()*float64(d.w.Rate))+1)
		for ; i < due; i++ {
			if err := d.move(i); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *dropper) move(i int) error {
	d.rec.drop(i, i+1)
	name := d.name(i)
	return os.Rename(filepath.Join(d.stage, name), filepath.Join(d.outgoing, name))
}

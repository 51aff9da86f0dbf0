package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// fileLoop is what the file system charges for report files: the bare
// loop the inbox writer does, nothing else, in the run's own folder. It
// creates n files of size bytes in a private folder (O_EXCL), flushes them
// in groups of 256 (syncfs where the inbox writer uses it, else an fsync
// each), renames each into a second folder and fsyncs that folder once per
// group. Reports per second are read against it: the inbox writer cannot
// beat the disk.
func fileLoop(dir string, n, size int) (perSec float64, cpuPerFile time.Duration, err error) {
	tmp, out := filepath.Join(dir, "fileloop-tmp"), filepath.Join(dir, "fileloop")
	for _, d := range []string{tmp, out} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return 0, 0, fmt.Errorf("bench: file loop: %w", err)
		}
	}
	defer os.RemoveAll(tmp)
	defer os.RemoveAll(out)
	data := make([]byte, size)
	for i := range data {
		data[i] = 'x'
	}
	const group = 256
	u0, t0 := usage(), time.Now()
	for start := 0; start < n; start += group {
		end := min(start+group, n)
		for i := start; i < end; i++ {
			f, err := os.OpenFile(filepath.Join(tmp, strconv.Itoa(i)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
			if err != nil {
				return 0, 0, fmt.Errorf("bench: file loop: %w", err)
			}
			_, werr := f.Write(data)
			if werr == nil && !syncGroup {
				werr = f.Sync()
			}
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				return 0, 0, fmt.Errorf("bench: file loop: %w", werr)
			}
		}
		if syncGroup {
			if err := syncFS(tmp); err != nil {
				return 0, 0, err
			}
		}
		for i := start; i < end; i++ {
			if err := os.Rename(filepath.Join(tmp, strconv.Itoa(i)), filepath.Join(out, strconv.Itoa(i)+".json")); err != nil {
				return 0, 0, fmt.Errorf("bench: file loop: %w", err)
			}
		}
		if err := syncDir(out); err != nil {
			return 0, 0, err
		}
	}
	elapsed, u := time.Since(t0), usage()
	return float64(n) / elapsed.Seconds(), (u.cpu - u0.cpu) / time.Duration(n), nil
}

//go:build linux

package inbox

import "testing"

func TestKernelVersion(t *testing.T) {
	for release, want := range map[string][3]int{
		"6.18.44-fc-v782": {6, 18, 1}, "5.8.0": {5, 8, 1}, "5.4.0-150-generic": {5, 4, 1},
		"4.19.0+": {4, 19, 1}, "5.10": {5, 10, 1}, "weird": {0, 0, 0}, "6.x": {6, 0, 0},
	} {
		major, minor, ok := kernelVersion(release)
		if ok != (want[2] == 1) || ok && (major != want[0] || minor != want[1]) {
			t.Errorf("kernelVersion(%q) = %d, %d, %v; want %v", release, major, minor, ok, want)
		}
	}
}

package outbox

import "testing"

func TestWindowsMapLimit(t *testing.T) {
	for _, c := range []struct{ max, want int }{
		{1 << 20, 1 << 20},
		{3 << 20, 2 << 20},
		{64 << 20, 64 << 20},
		{100 << 20, 64 << 20},
		{10 << 10, 32 << 10},
		{3 << 30, 3 << 30},
	} {
		if got := windowsMapLimit(c.max); got != c.want {
			t.Errorf("windowsMapLimit(%d) = %d, want %d", c.max, got, c.want)
		}
	}
}

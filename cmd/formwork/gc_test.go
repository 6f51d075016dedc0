package main

import "testing"

func TestGCPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live, headroom uint64
		want           int
	}{
		{8 * mib, 32 * mib, 400},   // a small live heap may grow by the headroom
		{1 * mib, 32 * mib, 800},   // below Go's 4 MiB floor, counted as 4 MiB
		{10 * mib, 32 * mib, 325},  // 320, rounded up to 25
		{32 * mib, 32 * mib, 100},  // the headroom is the live heap: the default
		{200 * mib, 32 * mib, 100}, // a large live heap keeps the default
	} {
		if got := gcPercent(tc.live, tc.headroom); got != tc.want {
			t.Errorf("gcPercent(%d MiB, %d MiB) = %d, want %d", tc.live/mib, tc.headroom/mib, got, tc.want)
		}
	}
}

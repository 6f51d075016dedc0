package engine

import (
	"testing"
	"time"
)

// FuzzImportCell: no cell text makes the readers of numbers, dates and
// lists panic, and a date they accept prints back as one they accept.
func FuzzImportCell(f *testing.F) {
	for _, s := range []string{"46362", "46362.75", "2026/12/6 14:30", "2026年12月6日", "2026-02-31", "¥1,200.50", "15%", "金卡，VIP；普通", "1e308", "-0", "NaN"} {
		f.Add(s)
	}
	loc := time.FixedZone("CST", 8*3600)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseNumber(s)
		_ = splitList(s)
		tm, ok := parseImportTime(s, loc)
		if !ok {
			return
		}
		if _, ok := parseImportTime(tm.Format(time.RFC3339), loc); !ok && tm.Year() >= 0 && tm.Year() <= 9999 {
			t.Fatalf("%q read as %v, which does not read back", s, tm)
		}
	})
}

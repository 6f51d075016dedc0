package sqlite

import (
	"testing"
	"time"
)

// The fast reader of stored times gives what time.Parse gives, and leaves
// every string it cannot read exactly to time.Parse.
func TestParseStoredTime(t *testing.T) {
	for _, s := range []string{
		"2024-02-29T23:59:59.999Z", "2026-01-01T00:00:00.000Z", "1999-12-31T12:34:56.007Z",
		"2023-02-29T00:00:00.000Z", "2024-13-01T00:00:00.000Z", "2024-04-31T00:00:00.000Z",
		"2024-01-01T24:00:00.000Z", "2024-01-01T00:60:00.000Z", "2024-01-01T00:00:60.000Z",
		"2024-01-0aT00:00:00.000Z", "2024-01-01 00:00:00.000Z", "2024-01-01T00:00:00.000+", "",
		"2024-01-01T00:00:00.5Z", "2024-00-10T00:00:00.000Z", "2024-01-00T00:00:00.000Z",
	} {
		want, err := time.Parse(timeFormat, s)
		got, ok := parseStoredTime(s)
		if ok != (err == nil) || (ok && !got.Equal(want)) || (ok && got.Location() != time.UTC) {
			t.Errorf("%q: parseStoredTime = %v, %v; time.Parse = %v, %v", s, got, ok, want, err)
		}
		if err == nil && !parseTime(s).Equal(want) {
			t.Errorf("%q: parseTime = %v, want %v", s, parseTime(s), want)
		}
	}
}

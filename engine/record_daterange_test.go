package engine

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func dateRangeForm() *Form {
	f, err := ParseForm([]byte(`{"x-key": "visit", "type": "object", "properties": {
		"day": {"type": "string", "format": "date", "x-widget": "date"},
		"at": {"type": "string", "format": "date-time", "x-widget": "datetime"},
		"name": {"type": "string", "x-widget": "text"}}}`), "")
	if err != nil {
		panic(err)
	}
	return f
}

// TestResolveRange: named ranges in the organisation's time zone (here
// UTC+8, on a Sunday just after midnight there, still Saturday in UTC).
func TestResolveRange(t *testing.T) {
	shanghai := time.FixedZone("UTC+8", 8*3600)
	s := &Service{zone: shanghai, now: func() time.Time { return time.Date(2026, 12, 5, 16, 30, 0, 0, time.UTC) }} // Sun 6 Dec 00:30 in UTC+8
	f := dateRangeForm()
	for _, c := range []struct {
		field, rng string
		from, to   any
	}{
		{"day", "today", "2026-12-06", "2026-12-06"},
		{"day", "yesterday", "2026-12-05", "2026-12-05"},
		{"day", "this_week", "2026-11-30", "2026-12-06"}, // Monday to Sunday
		{"day", "last_week", "2026-11-23", "2026-11-29"},
		{"day", "this_month", "2026-12-01", "2026-12-31"},
		{"day", "last_month", "2026-11-01", "2026-11-30"},
		{"day", "last_7_days", "2026-11-30", "2026-12-06"},
		{"day", "2026-01-01..", "2026-01-01", nil},
		{"day", "..2026-01-31", nil, "2026-01-31"},
		{"at", "today", "2026-12-05T16:00:00Z", "2026-12-06T15:59:59Z"},
		{"_created_at", "today", "2026-12-05T16:00:00.000Z", "2026-12-06T15:59:59.999Z"},
		{"_created_at", "2026-03-01..2026-03-01", "2026-02-28T16:00:00.000Z", "2026-03-01T15:59:59.999Z"},
	} {
		m, err := s.resolveRange(f, FieldMatch{Field: c.field, Range: c.rng})
		if err != nil {
			t.Errorf("%s %s: %v", c.field, c.rng, err)
			continue
		}
		if diff := cmp.Diff([]any{c.from, c.to}, []any{m.From, m.To}); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", c.field, c.rng, diff)
		}
	}
	for _, c := range []struct{ field, rng string }{
		{"day", "soon"}, {"name", "today"}, {"nope", "today"}, {"day", "2026-02-01..2026-01-01"}, {"day", "x..y"}, {"day", ".."[:1]},
	} {
		if _, err := s.resolveRange(f, FieldMatch{Field: c.field, Range: c.rng}); ErrorCode(err) != EINVALID {
			t.Errorf("%s %q: %v, want EINVALID", c.field, c.rng, err)
		}
	}
}

// FuzzResolveRange: any range text gives a result or EINVALID, never a
// panic, and a result's bounds are in order.
func FuzzResolveRange(f *testing.F) {
	for _, s := range []string{"today", "2026-01-01..2026-02-01", "..", "2026-13-01..", "x..y..z", "\x00"} {
		f.Add("day", s)
		f.Add("_created_at", s)
	}
	s := &Service{zone: time.UTC, now: func() time.Time { return time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) }}
	form := dateRangeForm()
	f.Fuzz(func(t *testing.T, field, rng string) {
		m, err := s.resolveRange(form, FieldMatch{Field: field, Range: rng})
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("%q %q: %v", field, rng, err)
			}
			return
		}
		from, _ := m.From.(string)
		to, _ := m.To.(string)
		if from != "" && to != "" && from > to {
			t.Errorf("%q %q: from %s after to %s", field, rng, from, to)
		}
	})
}

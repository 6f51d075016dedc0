package engine

import (
	"context"
	"slices"
	"time"
)

// DashboardRanges are the named periods a dashboard may be looked at over,
// in the order the page offers them ("" is all time).
var DashboardRanges = []string{"today", "this_week", "last_week", "this_month", "last_month", "last_30_days", "this_year", "last_year", ""}

// DashboardRangeQuery turns what a viewer picked into a query: a named
// range (DashboardRanges) in the organisation's time zone, or days from
// and to (yyyy-mm-dd, both included) — a named range wins — and a unit.
// EINVALID, with the field, for anything else.
func (s *Service) DashboardRangeQuery(name, from, to, unit string) (DashboardQuery, error) {
	q := DashboardQuery{Unit: unit}
	z := s.zoneOr()
	switch {
	case name == "" || name == "custom": // the days from and to, below
	case !slices.Contains(DashboardRanges, name):
		return q, Invalid(FieldError{Field: "/range", Code: "enum", Message: T("未知的时间范围", "unknown time range")})
	case name == "last_year": // the year before this_year, which lists do not offer
		first, _, _ := dayRange("this_year", s.now(), z)
		q.From, q.To = first.AddDate(-1, 0, 0), first
		return q, nil
	default: // the days a list's range covers, the last one included
		first, last, _ := dayRange(name, s.now(), z)
		q.From, q.To = first, last.AddDate(0, 0, 1)
		return q, nil
	}
	for _, d := range []struct {
		ptr, text string
		set       func(time.Time)
	}{
		{"/from", from, func(t time.Time) { q.From = t }},
		{"/to", to, func(t time.Time) { q.To = t.AddDate(0, 0, 1) }},
	} {
		if d.text == "" {
			continue
		}
		t, err := time.ParseInLocation("2006-01-02", d.text, z)
		if err != nil {
			return q, Invalid(FieldError{Field: d.ptr, Code: "format", Message: T("日期格式应为 年-月-日，如 2026-12-01", "a date reads year-month-day, such as 2026-12-01")})
		}
		d.set(t)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, Invalid(FieldError{Field: "/from", Code: "range", Message: T("开始日期须不晚于结束日期", "the start must not be after the end")})
	}
	return q, nil
}

// DashboardUnits are the units a viewer may narrow a dashboard to: every
// unit for an administrator, else their own unit and those below it (a
// unit outside their scope would only ever show nothing).
func (s *Service) DashboardUnits(ctx context.Context, p *Principal) ([]*Unit, error) {
	u, err := s.currentUser(ctx, p.User)
	if err != nil {
		return nil, err
	}
	if u.Admin {
		return s.org.ListUnits(ctx)
	}
	if u.Unit == "" {
		return nil, nil
	}
	us, err := s.org.UnitsBelow(ctx, u.Unit)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil
	}
	return us, err
}

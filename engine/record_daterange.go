package engine

import (
	"strings"
	"time"

	"formwork/engine/filter"
)

// DateRanges are the named ranges a list filters dates by, read in the
// organisation's time zone at the service clock's now; weeks start on
// Monday.
var DateRanges = []string{"today", "yesterday", "this_week", "last_week", "this_month", "last_month", "this_year", "last_7_days", "last_30_days"}

// DateRangeLabels are the ranges' names for staff.
var DateRangeLabels = map[string]Text{
	"today":        T("今天", "Today"),
	"yesterday":    T("昨天", "Yesterday"),
	"this_week":    T("本周", "This week"),
	"last_week":    T("上周", "Last week"),
	"this_month":   T("本月", "This month"),
	"last_month":   T("上月", "Last month"),
	"this_year":    T("今年", "This year"),
	"last_7_days":  T("最近7天", "Last 7 days"),
	"last_30_days": T("最近30天", "Last 30 days"),
}

// dayRange returns the first and the last day (midnights in loc) of the
// named range around now, ok false for an unknown name.
func dayRange(name string, now time.Time, loc *time.Location) (first, last time.Time, ok bool) {
	n := now.In(loc)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	month := time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, loc)
	switch name {
	case "today":
		return today, today, true
	case "yesterday":
		y := today.AddDate(0, 0, -1)
		return y, y, true
	case "this_week":
		return monday, monday.AddDate(0, 0, 6), true
	case "last_week":
		return monday.AddDate(0, 0, -7), monday.AddDate(0, 0, -1), true
	case "this_month":
		return month, month.AddDate(0, 1, -1), true
	case "last_month":
		return month.AddDate(0, -1, 0), month.AddDate(0, 0, -1), true
	case "this_year":
		y := time.Date(n.Year(), 1, 1, 0, 0, 0, 0, loc)
		return y, y.AddDate(1, 0, -1), true
	case "last_7_days":
		return today.AddDate(0, 0, -6), today, true
	case "last_30_days":
		return today.AddDate(0, 0, -29), today, true
	}
	return time.Time{}, time.Time{}, false
}

// resolveRange turns a match's Range into From and To for its field: a
// named range or "FROM..TO" (days as YYYY-MM-DD, either side may be
// empty), as dates for a date field and as instants for date-times and
// the record times. Bad input is EINVALID naming the field.
func (s *Service) resolveRange(f *Form, m FieldMatch) (FieldMatch, error) {
	bad := func(zh, en string) error {
		return Invalid(FieldError{Field: "/date/" + m.Field, Code: "date_range", Message: T(zh, en)})
	}
	kind := ""
	switch {
	case m.Field == "_created_at" || m.Field == "_updated_at":
		kind = "time"
	case f.Field(m.Field) == nil:
		return m, Invalid(FieldError{Field: "/date/" + m.Field, Code: "unknown_field", Message: Tf("表单中没有字段 %q", "the form has no field %q", m.Field)})
	case f.Field(m.Field).Widget == WidgetDate:
		kind = "date"
	case f.Field(m.Field).Widget == WidgetDatetime:
		kind = "datetime"
	default:
		return m, bad("只能按日期字段选择时间范围", "a date range needs a date field")
	}
	var first, last time.Time
	var hasFirst, hasLast bool
	if from, to, custom := strings.Cut(m.Range, ".."); custom {
		var err error
		if from != "" {
			if first, err = time.ParseInLocation("2006-01-02", from, s.zone); err != nil {
				return m, bad("开始日期应为 年-月-日", "the start must be a date as YYYY-MM-DD")
			}
			hasFirst = true
		}
		if to != "" {
			if last, err = time.ParseInLocation("2006-01-02", to, s.zone); err != nil {
				return m, bad("结束日期应为 年-月-日", "the end must be a date as YYYY-MM-DD")
			}
			hasLast = true
		}
		if hasFirst && hasLast && last.Before(first) {
			return m, bad("结束日期早于开始日期", "the end is before the start")
		}
	} else {
		var ok bool
		if first, last, ok = dayRange(m.Range, s.now(), s.zone); !ok {
			return m, bad("未知的时间范围", "unknown date range")
		}
		hasFirst, hasLast = true, true
	}
	m.Range = ""
	// a date field compares days; a date-time field its stored RFC 3339
	// text to the second; the record times their canonical text
	end := time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, s.zone)
	switch {
	case kind == "date":
		m.From, m.To = first.Format("2006-01-02"), last.Format("2006-01-02")
	case kind == "datetime":
		m.From, m.To = first.UTC().Format(time.RFC3339), end.Add(-time.Second).UTC().Format(time.RFC3339)
	default:
		m.From, m.To = filter.FormatTime(first), filter.FormatTime(end.Add(-time.Millisecond))
	}
	if !hasFirst {
		m.From = nil
	}
	if !hasLast {
		m.To = nil
	}
	return m, nil
}

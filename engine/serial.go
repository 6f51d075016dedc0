package engine

import (
	"fmt"
	"strings"
	"time"
)

// DefaultSerialDigits is the width of a serial number whose x-serial gives
// none (the designer's example shows the same).
const DefaultSerialDigits = 4

// SerialClaim asks the store to take the next number of a counter inside
// the atomic write of a record and to put it, formatted, into one field of
// that record. The counter lives in the store, so every process on one
// store shares it; a number is taken once and never handed out again (a
// write that fails after taking one rolls the counter back with it where
// the backend has transactions, and otherwise leaves a gap, never a
// repeat).
type SerialClaim struct {
	Field   string // the data key the number goes into
	Counter string // the counter's key: numbers count up per key
	Prefix  string // the text before the number (prefix, then the date part)
	Digits  int    // the number's zero-padded width; more is refused
	Label   Text   // the field's label, for the message when the numbers run out
}

// serialDateLayouts maps x-serial's date parts to Go time layouts.
var serialDateLayouts = map[string]string{"YYYYMMDD": "20060102", "YYMMDD": "060102", "YYYYMM": "200601", "YYYY": "2006"}

// SerialClaims returns the claims that number r's serial fields, as of
// time at in the organisation's zone tz (nil: UTC): one per top-level
// serial field. Numbers count per app, form or unit as x-serial's per
// says (default: per field of the form) and restart with each period of
// the date part, so they stay unique within what per names: the app, the
// form, or the form within one unit.
func SerialClaims(f *Form, r *Record, at time.Time, tz *time.Location) []SerialClaim {
	var out []SerialClaim
	for _, fd := range f.Fields {
		if fd.Widget != WidgetSerial {
			continue
		}
		out = append(out, serialClaim(fd, r, at, tz))
	}
	return out
}

func serialClaim(fd *Field, r *Record, at time.Time, tz *time.Location) SerialClaim {
	cfg := Serial{}
	if fd.Serial != nil {
		cfg = *fd.Serial
	}
	if tz == nil {
		tz = time.UTC
	}
	digits := cfg.Digits
	if digits <= 0 {
		digits = DefaultSerialDigits
	}
	prefix := cfg.Prefix
	date := ""
	if layout, ok := serialDateLayouts[cfg.Date]; ok {
		date = at.In(tz).Format(layout)
		prefix += date + "-"
	}
	// the counter's key: where it counts (per), which number (the field,
	// unless the app shares one), and the period of the date part
	var key string
	switch cfg.Per {
	case "app":
		key = "app|" + r.App
	case "unit":
		key = "unit|" + r.App + "|" + r.Form + "|" + fd.Key + "|" + r.Unit
	default:
		key = "form|" + r.App + "|" + r.Form + "|" + fd.Key
	}
	if date != "" {
		key += "|" + date
	}
	return SerialClaim{Field: fd.Key, Counter: key, Prefix: prefix, Digits: digits, Label: fd.LabelOr()}
}

// maxSerial is the largest number digits hold.
func maxSerial(digits int) int64 {
	n := int64(1)
	for range min(digits, 18) {
		n *= 10
	}
	return n - 1
}

// Format returns number n as the claim writes it, or an EINVALID naming
// the field when n no longer fits the claim's digits: the numbers of that
// format (and period) are used up, and the write is refused rather than
// given a number of another shape or one already handed out.
func (c SerialClaim) Format(n int64) (string, error) {
	if n < 1 || n > maxSerial(c.Digits) {
		last := c.Prefix + strings.Repeat("9", c.Digits)
		return "", Invalid(FieldError{Field: JSONPointer(c.Field), Code: "serial_exhausted",
			Message: T(fmt.Sprintf("%s的编号已用完（最后一个是 %s）：请管理员在表单设计中增加编号位数", c.Label.Zh, last),
				fmt.Sprintf("the numbers of %s are used up (the last one is %s): ask an administrator to give the number more digits in the form designer", c.Label.In("en"), last))})
	}
	return c.Prefix + fmt.Sprintf("%0*d", c.Digits, n), nil
}

// AssignSerials fills r's claimed fields that are still empty with the
// next numbers of their counters; next advances a counter inside the
// backend's atomic write and returns its new value. Backends call it on
// the record state they are about to store, so the number is written with
// the record or not at all; a field that already holds a number keeps it
// (a serial is never renumbered).
func AssignSerials(r *Record, claims []SerialClaim, next func(counter string) (int64, error)) error {
	for _, c := range claims {
		if v, ok := r.Data[c.Field]; ok && v != nil && v != "" {
			continue
		}
		n, err := next(c.Counter)
		if err != nil {
			return fmt.Errorf("serial counter %s: %w", c.Counter, err)
		}
		s, err := c.Format(n)
		if err != nil {
			return err
		}
		if r.Data == nil {
			r.Data = map[string]any{}
		}
		r.Data[c.Field] = s
	}
	return nil
}

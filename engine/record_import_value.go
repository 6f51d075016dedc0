package engine

import (
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"formwork/engine/filter"
)

// importLookups resolves what people type for member, unit and relation
// fields (a name, an email, a display value) to the ids the fields store.
// Members and units are read once per run; related records one query per
// distinct value, under the importing user's scope.
type importLookups struct {
	s     *Service
	p     *Principal
	b     *Bundle
	users map[string][]string // email, name and id (folded) → user ids
	units map[string][]string // key and names (folded) → unit keys
	rel   map[string]relHit   // form + "\x00" + value → result
}

type relHit struct {
	id  string
	err *Text
}

func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func (l *importLookups) loadUsers(ctx context.Context) error {
	if l.users != nil {
		return nil
	}
	users, err := l.s.org.ListUsers(ctx, "")
	if err != nil {
		return err
	}
	l.users = map[string][]string{}
	for _, u := range users {
		if u.Frozen {
			continue
		}
		for _, k := range uniq(fold(u.ID), NormalizeEmail(u.Email), fold(u.Name)) {
			l.users[k] = append(l.users[k], u.ID)
		}
	}
	return nil
}

func (l *importLookups) loadUnits(ctx context.Context) error {
	if l.units != nil {
		return nil
	}
	units, err := l.s.org.ListUnits(ctx)
	if err != nil {
		return err
	}
	l.units = map[string][]string{}
	for _, u := range units {
		for _, k := range uniq(fold(u.Key), fold(u.Name.Zh), fold(u.Name.En)) {
			l.units[k] = append(l.units[k], u.Key)
		}
	}
	return nil
}

// uniq drops empty and repeated strings.
func uniq(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// cellValue converts the text of one cell to the value field fd stores.
// A message (never an internal error) says why a cell cannot be read; err
// is for a failing store.
func (l *importLookups) cellValue(ctx context.Context, fd *Field, cell string) (any, *Text, error) {
	cell = strings.TrimSpace(cell)
	switch fd.Type {
	case "number", "integer":
		n, ok := parseNumber(cell)
		if !ok {
			return nil, ptrText(T("不是数字", "is not a number")), nil
		}
		if fd.Type == "integer" && n != math.Trunc(n) {
			return nil, ptrText(T("须为整数", "must be a whole number")), nil
		}
		return n, nil, nil
	case "boolean":
		switch fold(cell) {
		case "true", "yes", "y", "1", "是", "对", "✓", "√":
			return true, nil, nil
		case "false", "no", "n", "0", "否", "不", "×", "✗":
			return false, nil, nil
		}
		return nil, ptrText(T("请填写“是”或“否”", "must be yes or no")), nil
	case "array":
		var out []any
		for _, part := range splitList(cell) {
			v, ok := optionValue(fd, part)
			if !ok {
				return nil, ptrText(Tf("“%s”不在选项中", "“%s” is not one of the options", part)), nil
			}
			if !containsAny(out, v) {
				out = append(out, v)
			}
		}
		return out, nil, nil
	}
	if len(fd.Options) > 0 {
		v, ok := optionValue(fd, cell)
		if !ok {
			return nil, ptrText(Tf("“%s”不在选项中", "“%s” is not one of the options", cell)), nil
		}
		return v, nil, nil
	}
	switch fd.Widget {
	case WidgetMember:
		return l.member(ctx, cell)
	case WidgetUnit:
		return l.unit(ctx, cell)
	case WidgetRelation:
		return l.related(ctx, fd, cell)
	}
	switch fd.Format {
	case "date":
		t, ok := parseImportTime(cell, l.s.zone)
		if !ok {
			return nil, ptrText(T("不是可识别的日期（例如 2026-12-06）", "is not a date we can read (e.g. 2026-12-06)")), nil
		}
		return t.Format(time.DateOnly), nil, nil
	case "date-time":
		t, ok := parseImportTime(cell, l.s.zone)
		if !ok {
			return nil, ptrText(T("不是可识别的日期时间（例如 2026-12-06 14:30）", "is not a date and time we can read (e.g. 2026-12-06 14:30)")), nil
		}
		return t.UTC().Format(time.RFC3339), nil, nil
	}
	return cell, nil, nil
}

func containsAny(vs []any, v any) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// splitList splits a multi-choice cell on the separators people use.
func splitList(s string) []string {
	parts := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '，' || r == ';' || r == '；' || r == '、' || r == '|' || r == '\n'
	})
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// optionValue finds the option whose value or label (zh or en) is s.
func optionValue(fd *Field, s string) (any, bool) {
	fs := fold(s)
	for _, o := range fd.Options {
		switch v := o.Value.(type) {
		case string:
			if v == s || fold(v) == fs {
				return v, true
			}
		case float64:
			if n, ok := parseNumber(s); ok && n == v {
				return v, true
			}
		}
		if fold(o.Label.Zh) == fs || fold(o.Label.En) == fs {
			return o.Value, true
		}
	}
	return nil, false
}

// parseNumber reads a number as people type it: thousands separators, a
// currency sign, a trailing percent sign.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimLeft(s, "¥￥$€£")
	s = strings.ReplaceAll(s, ",", "")
	pct := strings.HasSuffix(s, "%")
	s = strings.TrimSuffix(s, "%")
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, false
	}
	if pct {
		n /= 100
	}
	return n, true
}

// excelEpoch is day 0 of Excel's 1900 date system as its serial numbers
// count it (serial 60 is the 29 February 1900 Excel believes in; later
// serials land right from this epoch).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// maxExcelSerial is 9999-12-31, the last date Excel has.
const maxExcelSerial = 2958465

var (
	dateCN  = regexp.MustCompile(`^(\d{4})年(\d{1,2})月(\d{1,2})日?(?:\s+(\d{1,2})[:时](\d{1,2})分?(?:[:分]?(\d{1,2})秒?)?)?$`)
	dateYMD = regexp.MustCompile(`^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?)?$`)
)

// parseImportTime reads a date or date-time in the forms a spreadsheet
// gives: an Excel serial number (days since 1899-12-30, a fraction for the
// time of day), 2026-12-06, 2026/12/6, 2026.12.6, 2026年12月6日, each with
// an optional time, or RFC 3339. Without a zone of its own it is read in
// loc, the organisation's.
func parseImportTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 1 || n > maxExcelSerial || math.IsNaN(n) {
			return time.Time{}, false
		}
		day := math.Floor(n)
		secs := math.Round((n - day) * 86400)
		d := excelEpoch.AddDate(0, 0, int(day))
		return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, int(secs), 0, loc), true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	m := dateYMD.FindStringSubmatch(s)
	if m == nil {
		m = dateCN.FindStringSubmatch(s)
	}
	if m == nil {
		return time.Time{}, false
	}
	num := func(i int) int {
		n, _ := strconv.Atoi(m[i])
		return n
	}
	y, mo, d, h, mi, sec := num(1), num(2), num(3), num(4), num(5), num(6)
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, loc)
	if t.Day() != d { // 31 February and the like
		return time.Time{}, false
	}
	return t, true
}

// member finds the active user a cell names by email, name or id.
func (l *importLookups) member(ctx context.Context, cell string) (any, *Text, error) {
	if err := l.loadUsers(ctx); err != nil {
		return nil, nil, err
	}
	switch ids := l.users[fold(cell)]; len(ids) {
	case 0:
		return nil, ptrText(Tf("找不到人员“%s”（可填姓名或邮箱）", "no one called “%s” (give a name or an email)", cell)), nil
	case 1:
		return ids[0], nil, nil
	default:
		return nil, ptrText(Tf("有多人名为“%s”，请填写邮箱", "several people are called “%s”: give the email", cell)), nil
	}
}

// unit finds the unit a cell names by key or name.
func (l *importLookups) unit(ctx context.Context, cell string) (any, *Text, error) {
	if err := l.loadUnits(ctx); err != nil {
		return nil, nil, err
	}
	switch keys := l.units[fold(cell)]; len(keys) {
	case 0:
		return nil, ptrText(Tf("找不到部门“%s”", "no unit called “%s”", cell)), nil
	case 1:
		return keys[0], nil, nil
	default:
		return nil, ptrText(Tf("有多个部门名为“%s”，请填写部门编号", "several units are called “%s”: give the unit's key", cell)), nil
	}
}

// related finds the record of the related form, in the user's scope, whose
// id or display field is cell.
func (l *importLookups) related(ctx context.Context, fd *Field, cell string) (any, *Text, error) {
	if fd.Relation == nil {
		return cell, nil, nil
	}
	ck := fd.Relation.Form + "\x00" + cell
	if h, ok := l.rel[ck]; ok {
		return h.id, h.err, nil
	}
	h, err := l.findRelated(ctx, fd, cell)
	if err != nil {
		return nil, nil, err
	}
	if l.rel == nil {
		l.rel = map[string]relHit{}
	}
	l.rel[ck] = h
	return h.id, h.err, nil
}

func (l *importLookups) findRelated(ctx context.Context, fd *Field, cell string) (relHit, error) {
	notFound := relHit{err: ptrText(Tf("找不到关联记录“%s”", "no related record “%s”", cell))}
	rf := l.b.Form(fd.Relation.Form)
	if rf == nil {
		return notFound, nil
	}
	acc, err := l.s.useAccess(ctx, l.p, l.b, rf)
	if err != nil {
		return relHit{}, err
	}
	if !acc.Can(OpRead) {
		return notFound, nil
	}
	if r, err := l.s.findInScope(ctx, l.b.App.Key, rf, acc, cell, false); err == nil {
		return relHit{id: r.ID}, nil
	} else if ErrorCode(err) != ENOTFOUND {
		return relHit{}, err
	}
	disp := fd.Relation.Display
	dfd := rf.Field(disp)
	if dfd == nil || dfd.Type != "string" || (acc.Field(disp) != PermRead && acc.Field(disp) != PermEdit) {
		return notFound, nil
	}
	ids, err := l.s.findByField(ctx, l.b.App.Key, rf, acc, disp, filter.TypeString, cell, 2)
	if err != nil {
		return relHit{}, err
	}
	switch len(ids) {
	case 0:
		return notFound, nil
	case 1:
		return relHit{id: ids[0].ID}, nil
	}
	return relHit{err: ptrText(Tf("有多条关联记录名为“%s”", "several related records are called “%s”", cell))}, nil
}

// findByField returns up to limit records in acc's scope whose field key
// equals v.
func (s *Service) findByField(ctx context.Context, app string, f *Form, acc *Access, key string, typ filter.Type, v any, limit int) ([]*Record, error) {
	var fe filter.Expr = filter.Cmp{Field: filter.Field{Key: key, Type: typ}, Op: filter.OpEq, Value: v}
	if scope := acc.ScopeFilter(); scope != nil {
		fe = filter.And{Items: []filter.Expr{scope, fe}}
	}
	page, err := s.store.FindRecords(ctx, RecordQuery{App: app, Form: f.Key, Filter: fe, Limit: limit, appVersion: s.formVersion(f)})
	if err != nil {
		return nil, err
	}
	return page.Items, nil
}

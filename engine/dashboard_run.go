package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"formwork/engine/filter"
)

// DashboardQuery is what a viewer asks of a dashboard: the records
// created in [From, To) (zero: unbounded) and, when Unit is set, those of
// that unit and the units below it.
type DashboardQuery struct {
	From, To time.Time
	Unit     string
}

// DashboardView is a dashboard computed for one viewer.
type DashboardView struct {
	App    string       `json:"app"`
	Key    string       `json:"key"`
	Name   Text         `json:"name"`
	Charts []*ChartView `json:"charts"`
}

// ChartView is one chart's numbers as the viewer may see them. Refused
// says why a chart has none for this viewer (a form they may not read, a
// field they see masked); the other charts are answered all the same.
type ChartView struct {
	Key     string       `json:"key"`
	Type    string       `json:"type"`
	Form    string       `json:"form"`
	Name    Text         `json:"name"`
	Measure ChartMeasure `json:"measure"`
	Series  []ChartPoint `json:"series"`
	// Previous is a number chart's value over the period as long as the
	// query's just before it (only with a bounded range).
	Previous *float64 `json:"previous,omitempty"`
	// Other is set when groups smaller than the dashboard's smallest
	// group were folded into one "other" group (masked viewers).
	Other   bool  `json:"other,omitempty"`
	Refused *Text `json:"refused,omitempty"`
}

// ChartPoint is one group of a chart: its key (a value, a period such as
// "2026-12" or "2026-12-01", nil for records without one, OtherKey for
// the folded small groups), its label, and for a pivot table its column.
// Filter selects the point's records in the form's list (nil for "other").
type ChartPoint struct {
	Key         any             `json:"key"`
	Label       Text            `json:"label"`
	Column      any             `json:"column,omitempty"`
	ColumnLabel *Text           `json:"column_label,omitempty"`
	Value       float64         `json:"value"`
	Count       int64           `json:"count"`
	Filter      json.RawMessage `json:"filter,omitempty"`
}

// OtherKey is the key of a chart's "other" group.
const OtherKey = "__other__"

// Dashboard computes dashboard key of app for p: ENOTFOUND when there is
// no such dashboard or p may not see it (none of its roles), so a
// dashboard's existence is not told to those who may not open it. Each
// chart is computed in the database under p's scope; a chart over a form
// p may not read, or over a field p does not see in full, is refused on
// its own. The view is audited.
func (s *Service) Dashboard(ctx context.Context, p *Principal, app, key string, q DashboardQuery) (*DashboardView, error) {
	u, b, err := s.dashboardApp(ctx, p, app)
	if err != nil {
		return nil, err
	}
	d := b.Dashboard(key)
	if d == nil || !mayViewDashboard(u, app, d) {
		return nil, s.deny(ctx, p, "dashboard.view", app, "", key, "no such dashboard or none of its roles",
			Errorf(ENOTFOUND, T("仪表盘不存在", "no such dashboard")))
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return nil, Invalid(FieldError{Field: "/from", Code: "range", Message: T("开始时间须早于结束时间", "the start must be before the end")})
	}
	var units []string
	if q.Unit != "" {
		if units, err = s.org.UnitKeysBelow(ctx, q.Unit); err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return nil, Invalid(FieldError{Field: "/unit", Code: "reference", Message: T("部门不存在", "no such unit")})
			}
			return nil, err
		}
	}
	vars, err := s.filterVars(ctx, u)
	if err != nil {
		return nil, err
	}
	out := &DashboardView{App: app, Key: d.Key, Name: d.Name, Charts: make([]*ChartView, len(d.Charts))}
	// The charts are independent reads: computed side by side, as many at
	// once as there are processors (the store's read pool serves them).
	var wg sync.WaitGroup
	errs := make([]error, len(d.Charts))
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, c := range d.Charts {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			out.Charts[i], errs[i] = s.chart(ctx, p, b, d, c, q, units, vars)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	ev := s.Event(p, "dashboard.view", app, "", key, nil, ResultOK, "")
	ev.Detail = MustJSON(map[string]any{"charts": len(out.Charts), "unit": q.Unit, "from": timeOrEmpty(q.From), "to": timeOrEmpty(q.To)})
	if err := s.audit.Write(ctx, ev); err != nil {
		return nil, err
	}
	return out, nil
}

// Dashboards lists the dashboards of app p may see, in bundle order.
func (s *Service) Dashboards(ctx context.Context, p *Principal, app string) ([]*Dashboard, error) {
	u, b, err := s.dashboardApp(ctx, p, app)
	if err != nil {
		return nil, err
	}
	var out []*Dashboard
	for _, d := range b.Dashboards {
		if mayViewDashboard(u, app, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// dashboardApp reads p's user again (a freeze or a role change holds at
// once) and app's current bundle; a personal token limited to other apps
// is refused.
func (s *Service) dashboardApp(ctx context.Context, p *Principal, app string) (*User, *Bundle, error) {
	if p == nil || p.User == nil {
		return nil, nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	if err := CheckTokenApp(p, app); err != nil {
		return nil, nil, s.deny(ctx, p, "dashboard.view", app, "", "", "token limited to other apps", err)
	}
	u, err := s.currentUser(ctx, p.User)
	if err != nil {
		return nil, nil, err
	}
	b, _, err := s.Bundle(ctx, app, 0)
	if err != nil {
		return nil, nil, err
	}
	return u, b, nil
}

// mayViewDashboard reports whether u sees d: administrators see every
// dashboard; others one of whose roles they hold in app (any role of the
// app when the dashboard names none). Auditors read no record data.
func mayViewDashboard(u *User, app string, d *Dashboard) bool {
	if u.Admin {
		return true
	}
	held := u.Roles[app]
	if len(d.Roles) == 0 {
		return len(held) > 0
	}
	for _, r := range held {
		if slices.Contains(d.Roles, r) {
			return true
		}
	}
	return false
}

// chartRun is one chart being computed for one viewer.
type chartRun struct {
	s    *Service
	p    *Principal
	b    *Bundle
	f    *Form
	acc  *Access
	c    *Chart
	view *ChartView
}

func (s *Service) chart(ctx context.Context, p *Principal, b *Bundle, d *Dashboard, c *Chart, q DashboardQuery, units []string, vars filter.Vars) (*ChartView, error) {
	cv := &ChartView{Key: c.Key, Type: c.Type, Form: c.Form, Measure: c.Measure, Name: chartName(b, c)}
	f := b.Form(c.Form)
	acc, err := s.useAccess(ctx, p, b, f)
	if err != nil {
		return nil, err
	}
	if !acc.Can(OpRead) {
		cv.Refused = ptrText(T("你无权查看该表单的数据", "you may not read this form's records"))
		return cv, nil
	}
	if k := unreadableField(f, acc, c); k != "" {
		l := f.LabelOf(k)
		cv.Refused = ptrText(T("字段“"+l.Zh+"”对你不完全可见，不能按它统计", "you do not see the field “"+l.En+"” in full, so it cannot be charted for you"))
		return cv, nil
	}
	r := &chartRun{s: s, p: p, b: b, f: f, acc: acc, c: c, view: cv}
	rows, base, err := r.group(ctx, q, units, vars)
	if err != nil {
		return nil, err
	}
	if c.Type == ChartNumber {
		v := measureValue(c.Measure.Op, firstRow(rows))
		cv.Series = []ChartPoint{{Key: nil, Label: cv.Name, Value: v, Count: firstRow(rows).Count, Filter: base}}
		if !q.From.IsZero() && !q.To.IsZero() {
			prevQ := DashboardQuery{From: q.From.Add(-q.To.Sub(q.From)), To: q.From, Unit: q.Unit}
			prev, _, err := r.group(ctx, prevQ, units, vars)
			if err != nil {
				return nil, err
			}
			pv := measureValue(c.Measure.Op, firstRow(prev))
			cv.Previous = &pv
		}
		return cv, nil
	}
	minGroup := 0
	if hasMasked(acc) {
		minGroup = cmp0(d.MinGroup, DefaultMinGroup)
	}
	return cv, r.points(ctx, rows, base, minGroup)
}

func cmp0(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func firstRow(rows []GroupRow) GroupRow {
	if len(rows) == 0 {
		return GroupRow{}
	}
	return rows[0]
}

// chartName is a chart's own name, or its measure and group in words.
func chartName(b *Bundle, c *Chart) Text {
	if c.Name != nil {
		return *c.Name
	}
	f := b.Form(c.Form)
	what := T("记录数", "records")
	if c.Measure.Op != MeasureCount && f != nil {
		l := f.LabelOf(c.Measure.Field)
		ops := map[string]Text{MeasureSum: T("合计", "total"), MeasureAvg: T("平均", "average"), MeasureMin: T("最小", "least"), MeasureMax: T("最大", "greatest")}
		op := ops[c.Measure.Op]
		what = T(l.Zh+op.Zh, op.En+" "+l.En)
	}
	if c.Group == nil || f == nil {
		return what
	}
	g := f.LabelOf(c.Group.Field)
	return T("按"+g.Zh+"的"+what.Zh, what.En+" by "+g.En)
}

// unreadableField returns the first field c groups, measures or filters
// by that acc does not show in full ("" when there is none).
func unreadableField(f *Form, acc *Access, c *Chart) string {
	var keys []string
	for _, g := range []*ChartGroup{c.Group, c.Columns} {
		if g != nil {
			keys = append(keys, g.Field)
		}
	}
	if c.Measure.Field != "" {
		keys = append(keys, c.Measure.Field)
	}
	if len(c.Filter) > 0 {
		if e, err := ParseFilter(f, c.Filter, filterVarsZero()); err == nil {
			for _, fl := range filter.Fields(e) {
				keys = append(keys, fl.Key)
			}
		}
	}
	for _, k := range keys {
		if isSystemField(k) {
			continue
		}
		if perm := acc.Field(k); perm != PermRead && perm != PermEdit {
			return k
		}
	}
	return ""
}

// hasMasked reports whether acc shows some field of the form masked.
func hasMasked(acc *Access) bool {
	if acc.Admin {
		return false
	}
	for _, perm := range acc.Fields {
		if perm == PermMasked {
			return true
		}
	}
	return false
}

// selection is the list filter of the chart's records under q (the
// chart's filter, the time range and the unit), as JSON a list takes.
func (r *chartRun) selection(q DashboardQuery, units []string) json.RawMessage {
	var conds []any
	if len(r.c.Filter) > 0 {
		conds = append(conds, json.RawMessage(r.c.Filter))
	}
	rng := map[string]any{}
	if !q.From.IsZero() {
		rng["$gte"] = filter.FormatTime(q.From)
	}
	if !q.To.IsZero() {
		rng["$lt"] = filter.FormatTime(q.To)
	}
	if len(rng) > 0 {
		conds = append(conds, map[string]any{"_created_at": rng})
	}
	if len(units) > 0 {
		conds = append(conds, map[string]any{"_unit": map[string]any{"$in": units}})
	}
	return andJSON(conds)
}

func andJSON(conds []any) json.RawMessage {
	switch len(conds) {
	case 0:
		return nil
	case 1:
		return MustJSON(conds[0])
	}
	return MustJSON(map[string]any{"$and": conds})
}

// group runs the chart's grouping in the database and folds hours and
// days into the chart's periods; base is the list filter of everything
// the chart counts.
func (r *chartRun) group(ctx context.Context, q DashboardQuery, units []string, vars filter.Vars) ([]GroupRow, json.RawMessage, error) {
	base := r.selection(q, units)
	items := []filter.Expr{}
	if scope := r.acc.ScopeFilter(); scope != nil {
		items = append(items, scope)
	}
	if len(base) > 0 {
		e, err := ParseFilter(r.f, base, vars)
		if err != nil {
			return nil, nil, err
		}
		items = append(items, e)
	}
	gq := GroupQuery{App: r.b.App.Key, Form: r.f.Key, Filter: filter.And{Items: items}}
	if r.c.Measure.Op != MeasureCount {
		gq.Measure = r.c.Measure.Field
	}
	// Only a least or greatest needs the bounds, which a store's rollups
	// cannot keep (a delete would have to find the next one).
	gq.NoBounds = r.c.Measure.Op != MeasureMin && r.c.Measure.Op != MeasureMax
	var cuts []*ChartGroup
	for _, g := range []*ChartGroup{r.c.Group, r.c.Columns} {
		if g != nil {
			gq.By = append(gq.By, r.groupBy(g))
			cuts = append(cuts, g)
		}
	}
	rows, err := r.s.store.GroupRecords(ctx, gq)
	if err != nil {
		return nil, nil, err
	}
	if !slices.ContainsFunc(cuts, func(g *ChartGroup) bool { return g.By != "" }) {
		return rows, base, nil
	}
	// Fold the database's hours and days into the chart's periods.
	fold := NewGroupAccumulator(GroupQuery{By: gq.By, Limit: MaxGroups})
	for _, row := range rows {
		keys := slices.Clone(row.Keys)
		for i, g := range cuts {
			if g.By != "" {
				keys[i] = r.s.period(keys[i], gq.By[i], g.By)
			}
		}
		row.Keys = keys
		if err := fold.Merge(row); err != nil {
			return nil, nil, err
		}
	}
	return fold.Rows(), base, nil
}

// groupBy is the store's key for a chart group: time fields cut into
// hours (shifted by the part of the zone's offset below an hour, so hours
// fold into local days) or, for dates alone, days; choice lists by each
// element.
func (r *chartRun) groupBy(g *ChartGroup) GroupBy {
	isTime, dateOnly := timeField(r.f, g.Field)
	switch {
	case isTime && dateOnly:
		return GroupBy{Field: g.Field, Cut: CutDay}
	case isTime:
		_, off := r.s.now().In(r.s.zoneOr()).Zone()
		return GroupBy{Field: g.Field, Cut: CutHour, Shift: time.Duration(off%3600) * time.Second}
	}
	fd := r.f.Field(g.Field)
	return GroupBy{Field: g.Field, Each: fd != nil && fd.Type == "array", Bool: fd != nil && fd.Type == "boolean"}
}

func (s *Service) zoneOr() *time.Location {
	if s.zone == nil {
		return time.UTC
	}
	return s.zone
}

// period folds a store's hour or day key into a day ("2006-01-02"), the
// Monday starting its week (also "2006-01-02") or a month ("2006-01") in
// the organisation's zone; nil stays nil.
func (s *Service) period(key any, by GroupBy, per string) any {
	text, ok := key.(string)
	if !ok {
		return nil
	}
	var day time.Time
	switch by.Cut {
	case CutHour:
		h, err := time.Parse("2006-01-02T15", text)
		if err != nil {
			return nil
		}
		local := h.Add(-by.Shift).In(s.zoneOr())
		day = time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	default:
		d, err := time.Parse("2006-01-02", text)
		if err != nil {
			return nil
		}
		day = d
	}
	switch per {
	case PeriodMonth:
		return day.Format("2006-01")
	case PeriodWeek:
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		return day.AddDate(0, 0, -back).Format("2006-01-02")
	}
	return day.Format("2006-01-02")
}

// measureValue is a group's value for op.
func measureValue(op string, row GroupRow) float64 {
	switch op {
	case MeasureSum:
		return row.Sum
	case MeasureAvg:
		if row.N == 0 {
			return 0
		}
		return row.Sum / float64(row.N)
	case MeasureMin:
		return row.Min
	case MeasureMax:
		return row.Max
	}
	return float64(row.Count)
}

// points turns the groups into the chart's series: small groups folded
// into "other" for masked viewers, labelled, ordered (periods in time
// order, other keys by value, the empty and other groups last), each with
// the list filter of its records.
func (r *chartRun) points(ctx context.Context, rows []GroupRow, base json.RawMessage, minGroup int) error {
	if minGroup > 0 {
		var kept []GroupRow
		other := GroupRow{Keys: make([]any, len(r.c.groups()))}
		for i := range other.Keys {
			other.Keys[i] = OtherKey
		}
		folded := false
		for _, row := range rows {
			if row.Count >= int64(minGroup) {
				kept = append(kept, row)
				continue
			}
			folded = true
			other.add(row)
		}
		if folded {
			kept = append(kept, other)
			r.view.Other = true
		}
		rows = kept
	}
	labels, err := r.labels(ctx, rows)
	if err != nil {
		return err
	}
	groups := r.c.groups()
	for _, row := range rows {
		pt := ChartPoint{Key: row.Keys[0], Label: labels[0][labelID(row.Keys[0])], Value: measureValue(r.c.Measure.Op, row), Count: row.Count}
		if len(row.Keys) > 1 {
			cl := labels[1][labelID(row.Keys[1])]
			pt.Column, pt.ColumnLabel = row.Keys[1], &cl
		}
		var conds []any
		if len(base) > 0 {
			conds = append(conds, base)
		}
		other := false
		for i, g := range groups {
			c, ok := r.pointCond(g, row.Keys[i])
			if !ok {
				other = true
				break
			}
			conds = append(conds, c)
		}
		if !other {
			pt.Filter = andJSON(conds)
		}
		r.view.Series = append(r.view.Series, pt)
	}
	r.sortSeries()
	return nil
}

// groups is the chart's group keys: rows, then a pivot's columns.
func (c *Chart) groups() []*ChartGroup {
	var out []*ChartGroup
	for _, g := range []*ChartGroup{c.Group, c.Columns} {
		if g != nil {
			out = append(out, g)
		}
	}
	return out
}

// pointCond is the list filter selecting a group key's records; false for
// the "other" group, which has none.
func (r *chartRun) pointCond(g *ChartGroup, key any) (any, bool) {
	if key == OtherKey {
		return nil, false
	}
	if key == nil {
		return map[string]any{g.Field: map[string]any{"$exists": false}}, true
	}
	if g.By == "" {
		return map[string]any{g.Field: key}, true
	}
	start, end := r.s.periodBounds(key.(string), g.By)
	isTime, dateOnly := timeField(r.f, g.Field)
	if isTime && dateOnly {
		return map[string]any{g.Field: map[string]any{"$gte": start.Format("2006-01-02"), "$lt": end.Format("2006-01-02")}}, true
	}
	return map[string]any{g.Field: map[string]any{"$gte": filter.FormatTime(start), "$lt": filter.FormatTime(end)}}, true
}

// periodBounds is the start and end of a period key in the organisation's
// zone (for a date field, read as dates: their zone does not matter).
func (s *Service) periodBounds(key, per string) (time.Time, time.Time) {
	z := s.zoneOr()
	if per == PeriodMonth {
		m, _ := time.ParseInLocation("2006-01", key, z)
		return m, m.AddDate(0, 1, 0)
	}
	d, _ := time.ParseInLocation("2006-01-02", key, z)
	if per == PeriodWeek {
		return d, d.AddDate(0, 0, 7)
	}
	return d, d.AddDate(0, 0, 1)
}

// sortSeries orders a chart's points: periods in time order, other keys
// by value (largest first, then by label), the empty and other groups last.
func (r *chartRun) sortSeries() {
	byTime := r.c.Group != nil && r.c.Group.By != ""
	rank := func(k any) int {
		switch k {
		case nil:
			return 1
		case OtherKey:
			return 2
		}
		return 0
	}
	sort.SliceStable(r.view.Series, func(i, j int) bool {
		a, b := r.view.Series[i], r.view.Series[j]
		if ra, rb := rank(a.Key), rank(b.Key); ra != rb {
			return ra < rb
		}
		if byTime {
			if ka, kb := fmt.Sprint(a.Key), fmt.Sprint(b.Key); ka != kb {
				return ka < kb
			}
		} else if a.Key != b.Key && r.c.Type != ChartPivot {
			if a.Value != b.Value {
				return a.Value > b.Value
			}
			return a.Label.Zh < b.Label.Zh
		}
		if a.Key != b.Key {
			return fmt.Sprint(a.Key) < fmt.Sprint(b.Key)
		}
		return fmt.Sprint(a.Column) < fmt.Sprint(b.Column)
	})
}

// labelID is a map key for a group key value.
func labelID(k any) string { return groupID([]any{k}) }

// labels names every key of rows, per group: option labels, user and unit
// names, a related record's display value as p may see it, statuses and
// periods in words.
func (r *chartRun) labels(ctx context.Context, rows []GroupRow) ([]map[string]Text, error) {
	groups := r.c.groups()
	out := make([]map[string]Text, len(groups))
	for i, g := range groups {
		out[i] = map[string]Text{}
		var keys []any
		seen := map[string]bool{}
		for _, row := range rows {
			id := labelID(row.Keys[i])
			if !seen[id] {
				seen[id] = true
				keys = append(keys, row.Keys[i])
			}
		}
		named, err := r.nameKeys(ctx, g, keys)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			out[i][labelID(k)] = named[labelID(k)]
		}
	}
	return out, nil
}

func (r *chartRun) nameKeys(ctx context.Context, g *ChartGroup, keys []any) (map[string]Text, error) {
	out := map[string]Text{}
	fd := r.f.Field(g.Field)
	var lookup []map[string]any // values a picker names (member, unit, relation)
	for _, k := range keys {
		id := labelID(k)
		switch {
		case k == nil:
			out[id] = T("（空）", "(none)")
		case k == OtherKey:
			out[id] = T("其他", "Other")
		case g.By != "":
			out[id] = periodText(k.(string), g.By)
		case g.Field == "_status":
			st := fmt.Sprint(k)
			if words, ok := StatusWords(st); ok {
				out[id] = words
			} else {
				out[id] = T(st, strings.ReplaceAll(st, "_", " "))
			}
		case g.Field == "_owner":
			if u, err := r.s.org.FindUserByID(ctx, fmt.Sprint(k)); err == nil {
				out[id] = T(u.Name, u.Name)
			}
		case g.Field == "_unit":
			if u, err := r.s.org.FindUnit(ctx, fmt.Sprint(k)); err == nil {
				out[id] = u.Name
			}
		case fd != nil && len(fd.Options) > 0:
			for _, o := range fd.Options {
				if o.Value == k {
					out[id] = o.Label
				}
			}
		case fd != nil && (fd.Widget == WidgetMember || fd.Widget == WidgetUnit || fd.Widget == WidgetRelation):
			lookup = append(lookup, map[string]any{g.Field: k})
		case k == true:
			out[id] = T("是", "Yes")
		case k == false:
			out[id] = T("否", "No")
		}
		if _, ok := out[id]; !ok && k != nil {
			s := valueText(k)
			out[id] = T(s, s)
		}
	}
	if len(lookup) > 0 {
		names, err := r.s.PickLabelsList(ctx, r.p, r.b.App.Key, r.f.Key, lookup)
		if err != nil {
			return nil, err
		}
		for i, row := range lookup {
			if t, ok := names[i][g.Field]; ok {
				out[labelID(row[g.Field])] = t
			}
		}
	}
	return out, nil
}

func valueText(k any) string {
	if f, ok := k.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(k)
}

// periodText is a period key in words: 2026-12-06, 2026-12-01 起一周, 2026年12月.
func periodText(key, per string) Text {
	switch per {
	case PeriodMonth:
		if m, err := time.Parse("2006-01", key); err == nil {
			return T(fmt.Sprintf("%d年%d月", m.Year(), m.Month()), m.Format("Jan 2006"))
		}
	case PeriodWeek:
		return T(key+" 起一周", "week of "+key)
	}
	return T(key, key)
}

// statusWords are the record statuses in words (lists, records, tasks,
// print and dashboards all read them through StatusWords).
var statusWords = map[string]Text{
	StatusActive:    T("已提交", "Submitted"),
	StatusInReview:  T("审批中", "In review"),
	StatusApproved:  T("已通过", "Approved"),
	StatusRejected:  T("已驳回", "Rejected"),
	StatusWithdrawn: T("已撤回", "Withdrawn"),
}

// StatusWords is a record status in words; false for a status with none.
func StatusWords(status string) (Text, bool) {
	t, ok := statusWords[status]
	return t, ok
}

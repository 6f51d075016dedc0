package engine

import (
	"encoding/json"
	"fmt"
	"slices"

	"formwork/engine/filter"
)

// Dashboard is a bundle's dashboard (FORMAT "further keys"): charts over
// the app's forms, computed in the database under each viewer's scope.
// Roles names the app roles that see it; none means every user holding a
// role in the app.
type Dashboard struct {
	Key    string   `json:"key"`
	Name   Text     `json:"name"`
	Roles  []string `json:"roles,omitempty"`
	Charts []*Chart `json:"charts"`
	// MinGroup is the smallest group shown to a viewer who sees some of
	// the form masked: smaller groups fold into "other", so a chart cannot
	// single out one customer (default DefaultMinGroup).
	MinGroup int `json:"min_group,omitempty"`
}

// DefaultMinGroup is a dashboard's smallest group for masked viewers.
const DefaultMinGroup = 3

// Chart is one chart of a dashboard.
type Chart struct {
	Key     string          `json:"key"`
	Name    *Text           `json:"name,omitempty"`
	Type    string          `json:"type"` // ChartNumber, ChartBar, …
	Form    string          `json:"form"`
	Filter  json.RawMessage `json:"filter,omitempty"`
	Group   *ChartGroup     `json:"group,omitempty"`
	Columns *ChartGroup     `json:"columns,omitempty"` // a pivot table's columns
	Measure ChartMeasure    `json:"measure"`
}

// Chart types.
const (
	ChartNumber = "number"
	ChartBar    = "bar"
	ChartLine   = "line"
	ChartPie    = "pie"
	ChartTable  = "table"
	ChartPivot  = "pivot"
)

// ChartGroup is what a chart groups by: a field, and for a time field the
// period (day, week or month, in the organisation's time zone). In a
// bundle it is a field key, or {"field", "by"}.
type ChartGroup struct {
	Field string `json:"field"`
	By    string `json:"by,omitempty"`
}

// UnmarshalJSON reads a group given as a key or as an object.
func (g *ChartGroup) UnmarshalJSON(b []byte) error {
	var key string
	if json.Unmarshal(b, &key) == nil {
		*g = ChartGroup{Field: key}
		return nil
	}
	type plain ChartGroup
	return json.Unmarshal(b, (*plain)(g))
}

// Periods a time group may be cut into.
const (
	PeriodDay   = "day"
	PeriodWeek  = "week"
	PeriodMonth = "month"
)

// ChartMeasure is what a chart measures per group: the number of records,
// or the sum, average, least or greatest of a number field.
type ChartMeasure struct {
	Op    string `json:"op"`
	Field string `json:"field,omitempty"`
}

// Measure operations.
const (
	MeasureCount = "count"
	MeasureSum   = "sum"
	MeasureAvg   = "avg"
	MeasureMin   = "min"
	MeasureMax   = "max"
)

// Dashboard returns the bundle's dashboard with key, or nil.
func (b *Bundle) Dashboard(key string) *Dashboard {
	for _, d := range b.Dashboards {
		if d.Key == key {
			return d
		}
	}
	return nil
}

// timeField reports whether k is a time a chart may cut into periods, and
// whether it holds dates alone (no time of day).
func timeField(f *Form, k string) (isTime, dateOnly bool) {
	if k == "_created_at" || k == "_updated_at" {
		return true, false
	}
	fd := f.Field(k)
	if fd == nil || fd.Type != "string" {
		return false, false
	}
	switch fd.Format {
	case "date":
		return true, true
	case "date-time":
		return true, false
	}
	return false, false
}

// groupable reports whether a chart may group by field k of f: a system
// field, or a field holding one value or a list of choices (not a file, a
// subform or an object).
func groupable(f *Form, k string) bool {
	if isSystemField(k) {
		return k != "_id" && k != "_version"
	}
	fd := f.Field(k)
	if fd == nil {
		return false
	}
	switch fd.Type {
	case "string", "number", "integer", "boolean":
		return fd.Widget != WidgetAttachment && fd.Widget != WidgetImage
	case "array":
		return fd.ItemType == "string"
	}
	return false
}

func (l *loader) checkDashboards(b *Bundle) {
	seen := map[string]bool{}
	for _, d := range b.Dashboards {
		ptr := l.dashPtr[d]
		if seen[d.Key] {
			l.add(ptr+"/key", "duplicate", Tf("仪表盘 %q 重复", "dashboard %q appears twice", d.Key))
		}
		seen[d.Key] = true
		for j, r := range d.Roles {
			if b.Role(r) == nil {
				l.add(fmt.Sprintf("%s/roles/%d", ptr, j), "reference", Tf("角色 %q 不存在", "role %q does not exist", r))
			}
		}
		charts := map[string]bool{}
		for j, c := range d.Charts {
			cptr := fmt.Sprintf("%s/charts/%d", ptr, j)
			if charts[c.Key] {
				l.add(cptr+"/key", "duplicate", Tf("图表 %q 重复", "chart %q appears twice", c.Key))
			}
			charts[c.Key] = true
			l.checkChart(b, c, cptr)
		}
	}
}

func (l *loader) checkChart(b *Bundle, c *Chart, ptr string) {
	f := b.Form(c.Form)
	if f == nil {
		l.add(ptr+"/form", "reference", Tf("表单 %q 不存在", "form %q does not exist", c.Form))
		return
	}
	switch {
	case c.Type == ChartNumber && c.Group != nil:
		l.add(ptr+"/group", "invalid", T("数字卡片不分组", "a number chart has no group"))
	case c.Type != ChartNumber && c.Group == nil:
		l.add(ptr+"/group", "required", T("该图表需要分组字段", "this chart needs a group"))
	case c.Type == ChartPivot && c.Columns == nil:
		l.add(ptr+"/columns", "required", T("透视表需要列字段", "a pivot table needs a column field"))
	case c.Type != ChartPivot && c.Columns != nil:
		l.add(ptr+"/columns", "invalid", T("只有透视表有列字段", "only a pivot table has columns"))
	}
	for _, g := range []struct {
		name string
		g    *ChartGroup
	}{{"group", c.Group}, {"columns", c.Columns}} {
		if g.g != nil {
			l.checkChartGroup(f, g.g, ptr+"/"+g.name)
		}
	}
	switch c.Measure.Op {
	case MeasureCount:
		if c.Measure.Field != "" {
			l.add(ptr+"/measure/field", "invalid", T("计数不需要字段", "a count takes no field"))
		}
	case MeasureSum, MeasureAvg, MeasureMin, MeasureMax:
		fd := f.Field(c.Measure.Field)
		switch {
		case fd == nil:
			l.add(ptr+"/measure/field", "reference", Tf("字段 %q 不存在", "field %q does not exist", c.Measure.Field))
		case fd.Sensitive != "":
			l.add(ptr+"/measure/field", "sensitive", Tf("字段 %q 是加密存储的敏感字段，不能用于图表", "field %q is sensitive and encrypted at rest: it cannot be charted", c.Measure.Field))
		case fd.Type != "number" && fd.Type != "integer":
			l.add(ptr+"/measure/field", "type", Tf("字段 %q 不是数字，不能求和或平均", "field %q is not a number: it cannot be summed or averaged", c.Measure.Field))
		}
	}
	if len(c.Filter) > 0 {
		if err := CheckFilter(f, c.Filter); err != nil {
			for _, fe := range ErrorFields(err) {
				l.add(ptr+"/filter"+fe.Field, fe.Code, fe.Message)
			}
		}
	}
}

func (l *loader) checkChartGroup(f *Form, g *ChartGroup, ptr string) {
	if !groupable(f, g.Field) {
		if f.Field(g.Field) == nil && !isSystemField(g.Field) {
			l.add(ptr, "reference", Tf("字段 %q 不存在", "field %q does not exist", g.Field))
		} else {
			l.add(ptr, "type", Tf("不能按字段 %q 分组", "a chart cannot group by field %q", g.Field))
		}
		return
	}
	if fd := f.Field(g.Field); fd != nil && fd.Sensitive != "" {
		l.add(ptr, "sensitive", Tf("字段 %q 是加密存储的敏感字段，不能用于图表", "field %q is sensitive and encrypted at rest: it cannot be charted", g.Field))
		return
	}
	isTime, _ := timeField(f, g.Field)
	switch {
	case isTime && !slices.Contains([]string{PeriodDay, PeriodWeek, PeriodMonth}, g.By):
		l.add(ptr+"/by", "required", T("时间字段需要按日、周或月分组", "a time field groups by day, week or month"))
	case !isTime && g.By != "":
		l.add(ptr+"/by", "invalid", Tf("字段 %q 不是日期，不能按时间段分组", "field %q is not a date: it cannot group by period", g.Field))
	}
}

// LabelOf names a field or system field of f in words (the key itself
// when it has no label).
func (f *Form) LabelOf(key string) Text {
	if fd := f.Field(key); fd != nil {
		return fd.LabelOr()
	}
	if t, ok := SystemFieldLabel(key); ok {
		return t
	}
	return T(key, key)
}

// SystemFieldLabel is what a record's system field (_unit, _owner,
// _status, _created_at, _updated_at) is called; false for any other key.
func SystemFieldLabel(key string) (Text, bool) {
	switch key {
	case "_unit":
		return T("部门", "Unit"), true
	case "_owner":
		return T("负责人", "Owner"), true
	case "_status":
		return T("状态", "Status"), true
	case "_created_at":
		return T("创建时间", "Created"), true
	case "_updated_at":
		return T("更新时间", "Updated"), true
	}
	return Text{}, false
}

// dashboardRollup is what the store should keep totals of for f's
// dashboards (FormRollup): per chart, the scalar fields it groups by or
// filters on, with those its roles' filter scopes read; the owner when a
// role sees its own records or a chart reads it; the fields charts sum or
// average. Time fields stay out (every record would be a row of its own):
// charts grouping by them read the records. Empty when no chart is over f
// (the store then keeps none).
func dashboardRollup(b *Bundle, f *Form) *FormRollup {
	r := &FormRollup{}
	// fields adds the rollable fields of keys to set.
	fields := func(set []string, keys ...string) []string {
		for _, k := range keys {
			if k == "_owner" {
				r.Owner = true
			}
			fd := f.Field(k)
			if isTime, _ := timeField(f, k); fd == nil || isTime || fd.Type == "array" || fd.Type == "object" || fd.Sensitive != "" {
				continue
			}
			if !slices.Contains(set, k) {
				set = append(set, k)
			}
		}
		return set
	}
	filterFields := func(set []string, raw json.RawMessage) []string {
		if len(raw) == 0 {
			return set
		}
		if e, err := ParseFilter(f, raw, filterVarsZero()); err == nil {
			for _, fl := range filter.Fields(e) {
				set = fields(set, fl.Key)
			}
		}
		return set
	}
	var scoped []string // every set holds them, so scoped viewers read the totals too
	for _, role := range b.Roles {
		fp := role.Permissions[f.Key]
		switch {
		case fp == nil:
		case fp.Scope.Kind == ScopeOwn || fp.Scope.Kind == "":
			r.Owner = true
		case fp.Scope.Kind == ScopeFilter:
			scoped = filterFields(scoped, fp.Scope.Filter)
		}
	}
	for _, d := range b.Dashboards {
		for _, c := range d.Charts {
			if c.Form != f.Key {
				continue
			}
			set := slices.Clone(scoped)
			for _, g := range c.groups() {
				set = fields(set, g.Field)
			}
			r.Sets = append(r.Sets, filterFields(set, c.Filter))
			if op := c.Measure.Op; (op == MeasureSum || op == MeasureAvg) && !slices.Contains(r.Measures, c.Measure.Field) {
				r.Measures = append(r.Measures, c.Measure.Field)
			}
		}
	}
	if len(r.Sets) == 0 {
		return &FormRollup{}
	}
	return r
}

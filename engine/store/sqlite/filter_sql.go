package sqlite

import (
	"database/sql/driver"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"formwork/engine"
	"formwork/engine/filter"

	sqlitedrv "modernc.org/sqlite"
)

const timeFormat = filter.TimeFormat

// registerOnce registers the SQL functions with the driver, which keeps
// them process-wide: a second registration would fail.
var registerOnce sync.Once

// registerFuncs registers regexp(pattern, text) with the driver: Go's RE2
// engine, linear in the input, so no pattern can make a query hang.
func registerFuncs() {
	registerOnce.Do(func() {
		sqlitedrv.MustRegisterDeterministicScalarFunction("regexp", 2, func(_ *sqlitedrv.FunctionContext, args []driver.Value) (driver.Value, error) {
			pat, ok := args[0].(string)
			if !ok {
				return int64(0), nil
			}
			var text string
			switch v := args[1].(type) {
			case string:
				text = v
			case []byte:
				text = string(v)
			default:
				return int64(0), nil
			}
			re, err := compileCached(pat)
			if err != nil {
				return nil, err
			}
			if re.MatchString(text) {
				return int64(1), nil
			}
			return int64(0), nil
		})
	})
}

// reCache keeps the compiled patterns of $regex filters for the SQL
// function that runs them once per row: a pattern is the same for every
// row and every store in the process, and compiling it per row would
// dominate a scan. Bounded by reCacheN (see compileCached).
var (
	reCache   sync.Map // pattern → *regexp.Regexp
	reCacheN  int64
	reCacheMu sync.Mutex
)

func compileCached(pat string) (*regexp.Regexp, error) {
	if v, ok := reCache.Load(pat); ok {
		return v.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, err
	}
	reCacheMu.Lock()
	if reCacheN >= 1024 { // bound the cache; patterns come from definitions, so few
		reCache.Clear()
		reCacheN = 0
	}
	reCacheN++
	reCacheMu.Unlock()
	reCache.Store(pat, re)
	return re, nil
}

var safeKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// jsonPath returns the SQL string literal of the JSON path of a data key. The
// key is spliced into the SQL text (an expression index only matches a
// literal path), so anything but a plain identifier is refused.
func jsonPath(key string) (string, error) {
	if !safeKey.MatchString(key) {
		return "", engine.Errorf(engine.EINVALID, engine.T("字段名无效："+key, "invalid field key: "+key))
	}
	return "'$." + key + "'", nil
}

// systemColumns maps system fields to record columns.
var systemColumns = map[string]string{
	"_id":         "id",
	"_unit":       "unit",
	"_owner":      "owner",
	"_status":     "status",
	"_version":    "version",
	"_created_at": "created_at",
	"_updated_at": "updated_at",
}

// sqlFilter compiles a filter tree into a WHERE fragment and its args.
type sqlFilter struct {
	b    strings.Builder
	args []any
	// noRangeIndex names data fields whose range comparisons are written
	// as +expr, which SQLite cannot serve from an index (see rangeScan).
	noRangeIndex map[string]bool
}

func compileFilter(e filter.Expr, noRangeIndex map[string]bool) (string, []any, error) {
	c := sqlFilter{noRangeIndex: noRangeIndex}
	if err := c.expr(e); err != nil {
		return "", nil, err
	}
	return c.b.String(), c.args, nil
}

func (c *sqlFilter) w(s ...string) {
	for _, x := range s {
		c.b.WriteString(x)
	}
}

func (c *sqlFilter) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

// expr writes e. A fragment may evaluate to NULL where the answer is "no":
// under AND/OR that is harmless (they are monotone), and Not wraps its
// operand in coalesce(…, 0) so NULL never turns into "yes" or stays NULL.
func (c *sqlFilter) expr(e filter.Expr) error {
	switch x := e.(type) {
	case nil:
		c.w("1")
	case filter.And:
		if len(x.Items) == 0 {
			c.w("1")
			return nil
		}
		c.w("(")
		for i, it := range x.Items {
			if i > 0 {
				c.w(" AND ")
			}
			if err := c.expr(it); err != nil {
				return err
			}
		}
		c.w(")")
	case *filter.And:
		return c.expr(*x)
	case filter.Or:
		if len(x.Items) == 0 {
			c.w("0")
			return nil
		}
		c.w("(")
		for i, it := range x.Items {
			if i > 0 {
				c.w(" OR ")
			}
			if err := c.expr(it); err != nil {
				return err
			}
		}
		c.w(")")
	case *filter.Or:
		return c.expr(*x)
	case filter.Not:
		c.w("NOT coalesce(")
		if err := c.expr(x.X); err != nil {
			return err
		}
		c.w(", 0)")
	case *filter.Not:
		return c.expr(*x)
	case filter.Cmp:
		return c.cmp(x)
	case *filter.Cmp:
		return c.cmp(*x)
	case filter.Exists:
		return c.exists(x)
	case *filter.Exists:
		return c.exists(*x)
	case filter.Regex:
		return c.regex(x)
	case *filter.Regex:
		return c.regex(*x)
	case filter.Text:
		return c.text(x)
	default:
		return engine.Errorf(engine.EINVALID, engine.T("不支持的筛选条件", "unsupported filter node"))
	}
	return nil
}

// operand is how one value is read: its SQL value and its JSON type.
type operand struct {
	val string // SQL expression of the value
	typ string // SQL expression of the JSON type ('text', 'integer', 'real', 'true', 'false', 'null'; NULL when missing)
}

// field returns the operand of a field: a column, a data path, or — for
// arrays — each element (inside an EXISTS over json_each, see each).
func (c *sqlFilter) field(f filter.Field) (operand, bool, error) {
	if f.System || strings.HasPrefix(f.Key, "_") {
		col, ok := systemColumns[f.Key]
		if !ok {
			return operand{}, false, engine.Errorf(engine.EINVALID, engine.T("未知系统字段："+f.Key, "unknown system field: "+f.Key))
		}
		t := "'text'"
		if col == "version" {
			t = "'integer'"
		}
		return operand{val: col, typ: t}, false, nil
	}
	p, err := jsonPath(f.Key)
	if err != nil {
		return operand{}, false, err
	}
	if f.Type == filter.TypeArray {
		return operand{val: "je.value", typ: "je.type"}, true, nil
	}
	return operand{val: "json_extract(data, " + p + ")", typ: "json_type(data, " + p + ")"}, false, nil
}

// each wraps an element predicate over an array field: any element matches.
func (c *sqlFilter) each(f filter.Field, pred func()) error {
	p, err := jsonPath(f.Key)
	if err != nil {
		return err
	}
	c.w("EXISTS (SELECT 1 FROM json_each(data, ", p, ") AS je WHERE ")
	pred()
	c.w(")")
	return nil
}

// missing is the predicate "absent or null" for a field.
func (c *sqlFilter) missing(f filter.Field) error {
	o, _, err := c.field(f)
	if err != nil {
		return err
	}
	if f.Type == filter.TypeArray && !f.System {
		p, _ := jsonPath(f.Key)
		o = operand{val: "json_extract(data, " + p + ")", typ: "json_type(data, " + p + ")"}
	}
	c.w("coalesce(", o.typ, ", 'null') = 'null'")
	return nil
}

func (c *sqlFilter) exists(x filter.Exists) error {
	if !x.Want {
		return c.missing(x.Field)
	}
	c.w("NOT ")
	return c.missing(x.Field)
}

// eqOne writes "operand equals v" for a scalar v (never NULL-valued).
func (c *sqlFilter) eqOne(o operand, v any) error {
	switch v := v.(type) {
	case string:
		if plainText(v) {
			c.w(o.val, " = ", c.arg(v))
			return nil
		}
		c.w("(", o.val, " = ", c.arg(v), " AND ", o.typ, " = 'text')")
	case float64, int, int64:
		c.w("(", o.val, " = ", c.arg(v), " AND ", o.typ, " IN ('integer','real'))")
	case bool:
		if v {
			c.w("coalesce(", o.typ, " = 'true', 0)")
		} else {
			c.w("coalesce(", o.typ, " = 'false', 0)")
		}
	default:
		return engine.Errorf(engine.EINVALID, engine.T("筛选值类型无效", fmt.Sprintf("invalid filter value %T", v)))
	}
	return nil
}

// plainText reports whether a string compared for equality with a JSON
// value can only match a JSON string, so the type check can go: the value
// of a path is SQL text only for a string, or for an object or array (their
// JSON text, which starts with { or [); numbers, booleans and null are never
// text. Without json_type in the condition, an index on the path answers
// an equality count alone (count by level at 1,000,000 records read every
// matching row to check the type).
func plainText(v string) bool { return !strings.HasPrefix(v, "{") && !strings.HasPrefix(v, "[") }

// inList writes "operand is one of vals" (nil excluded), grouping strings and
// numbers into IN lists so an index on the field serves them.
func (c *sqlFilter) inList(o operand, vals []any) error {
	var strs, nums []any
	var parts []func() error
	for _, v := range vals {
		switch v := v.(type) {
		case string:
			strs = append(strs, v)
		case float64, int, int64:
			nums = append(nums, v)
		case bool:
			parts = append(parts, func() error { return c.eqOne(o, v) })
		case nil:
		default:
			return engine.Errorf(engine.EINVALID, engine.T("筛选值类型无效", fmt.Sprintf("invalid filter value %T", v)))
		}
	}
	list := func(vs []any, typ string) func() error {
		return func() error {
			if len(vs) == 1 {
				return c.eqOne(o, vs[0])
			}
			check := true
			if typ == "'text'" {
				check = false
				for _, v := range vs {
					if !plainText(v.(string)) {
						check = true
					}
				}
			}
			c.w("(", o.val, " IN (")
			for i, v := range vs {
				if i > 0 {
					c.w(", ")
				}
				c.w(c.arg(v))
			}
			if !check {
				c.w("))")
				return nil
			}
			c.w(") AND ", o.typ, " IN (", typ, "))")
			return nil
		}
	}
	if len(strs) > 0 {
		parts = append([]func() error{list(strs, "'text'")}, parts...)
	}
	if len(nums) > 0 {
		parts = append(parts, list(nums, "'integer','real'"))
	}
	if len(parts) == 0 {
		c.w("0")
		return nil
	}
	c.w("(")
	for i, p := range parts {
		if i > 0 {
			c.w(" OR ")
		}
		if err := p(); err != nil {
			return err
		}
	}
	c.w(")")
	return nil
}

func (c *sqlFilter) cmp(x filter.Cmp) error {
	switch x.Op {
	case filter.OpNe:
		return c.expr(filter.Not{X: filter.Cmp{Field: x.Field, Op: filter.OpEq, Value: x.Value}})
	case filter.OpNin:
		return c.expr(filter.Not{X: filter.Cmp{Field: x.Field, Op: filter.OpIn, Value: x.Value}})
	}
	o, arr, err := c.field(x.Field)
	if err != nil {
		return err
	}
	var pred func() error
	switch x.Op {
	case filter.OpEq:
		if x.Value == nil {
			return c.missing(x.Field)
		}
		pred = func() error { return c.eqOne(o, x.Value) }
	case filter.OpIn:
		vals, ok := x.Value.([]any)
		if !ok {
			return engine.Errorf(engine.EINVALID, engine.T("$in 需要数组", "$in needs an array"))
		}
		hasNil := false
		for _, v := range vals {
			if v == nil {
				hasNil = true
			}
		}
		if hasNil {
			c.w("(")
			if err := c.missing(x.Field); err != nil {
				return err
			}
			c.w(" OR ")
			defer c.w(")")
		}
		pred = func() error { return c.inList(o, vals) }
	case filter.OpGt, filter.OpGte, filter.OpLt, filter.OpLte:
		sym := map[filter.Op]string{filter.OpGt: ">", filter.OpGte: ">=", filter.OpLt: "<", filter.OpLte: "<="}[x.Op]
		if !arr && c.noRangeIndex[x.Field.Key] {
			o.val = "+" + o.val
		}
		pred = func() error {
			switch v := x.Value.(type) {
			case string:
				c.w("(", o.val, " ", sym, " ", c.arg(v), " AND ", o.typ, " = 'text')")
			case float64, int, int64:
				c.w("(", o.val, " ", sym, " ", c.arg(v), " AND ", o.typ, " IN ('integer','real'))")
			default:
				return engine.Errorf(engine.EINVALID, engine.T("比较值必须是字符串或数字", fmt.Sprintf("%s needs a string or number, not %T", x.Op, v)))
			}
			return nil
		}
	default:
		return engine.Errorf(engine.EINVALID, engine.T("不支持的运算符："+string(x.Op), "unsupported operator: "+string(x.Op)))
	}
	if arr {
		var perr error
		err := c.each(x.Field, func() { perr = pred() })
		if err != nil {
			return err
		}
		return perr
	}
	return pred()
}

func (c *sqlFilter) regex(x filter.Regex) error {
	pat := x.Pattern
	if x.Fold {
		pat = "(?i)" + pat
	}
	if _, err := compileCached(pat); err != nil {
		return engine.Errorf(engine.EINVALID, engine.T("正则表达式无效", "invalid regular expression: "+err.Error()))
	}
	o, arr, err := c.field(x.Field)
	if err != nil {
		return err
	}
	pred := func() { c.w("(", o.typ, " = 'text' AND regexp(", c.arg(pat), ", ", o.val, "))") }
	if arr {
		return c.each(x.Field, pred)
	}
	pred()
	return nil
}

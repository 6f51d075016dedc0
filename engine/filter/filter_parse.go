package filter

import (
	"strconv"
	"strings"
	"time"
)

// Limits on untrusted filters. A filter over any of them is refused with
// CodeLimit or CodeTooLarge.
const (
	MaxSize     = 16 << 10 // raw JSON bytes
	MaxDepth    = 8        // nesting of $and / $or / $not
	MaxNodes    = 200      // nodes of the checked tree (and JSON containers while decoding)
	MaxIn       = 500      // items of a literal $in / $nin list
	MaxRegexLen = 200      // characters of a $regex pattern
)

// Variables a filter may use as a value.
const (
	VarUserID     = "$user.id"
	VarUserUnit   = "$user.unit"
	VarUnitsBelow = "$user.units_below" // an array: only as the whole value of $in / $nin
	VarNow        = "$now"
)

// Vars are the values substituted for the filter variables: the current
// user's id and unit, the keys of that unit and every unit below it, and the
// current time (injected, so callers and tests control the clock).
type Vars struct {
	UserID     string
	Unit       string
	UnitsBelow []string
	Now        time.Time
}

// Parse decodes a JSON filter, checks every field against fields, every
// operator and value type, and substitutes vars. Anything outside the subset
// is refused with an *Error whose Pointer (RFC 6901) names the offending part.
// The returned tree is safe to compile by any backend.
func Parse(raw []byte, fields Resolver, vars Vars) (Expr, error) {
	e, _, err := ParseVars(raw, fields, vars)
	return e, err
}

// ParseVars is Parse that also reports whether the filter used any of
// vars: a filter that used none parses to the same tree whatever vars are,
// so it may be kept and reused for the same text and fields.
func ParseVars(raw []byte, fields Resolver, vars Vars) (e Expr, usedVars bool, err error) {
	if len(raw) > MaxSize {
		return nil, false, newError("", CodeTooLarge, "过滤条件太大", "the filter is too large")
	}
	if fields == nil {
		fields = func(string) (Field, bool) { return Field{}, false }
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, false, err
	}
	p := &parser{fields: fields, vars: vars}
	e, perr := p.doc(v, "", 0)
	if perr != nil {
		return nil, false, perr
	}
	return e, p.usedVars, nil
}

type parser struct {
	fields   Resolver
	vars     Vars
	nodes    int
	usedVars bool // a variable was substituted
}

// node counts one tree node against MaxNodes.
func (p *parser) node(ptr string) *Error {
	p.nodes++
	if p.nodes > MaxNodes {
		return newError(ptr, CodeLimit, "过滤条件太复杂", "the filter has too many parts")
	}
	return nil
}

// doc parses a filter document: an object whose keys are $and, $or, $not or
// field keys, all of which must hold.
func (p *parser) doc(v *jval, ptr string, depth int) (Expr, *Error) {
	if depth > MaxDepth {
		return nil, newError(ptr, CodeLimit, "过滤条件嵌套太深", "the filter is nested too deeply")
	}
	if v.kind != jObject {
		return nil, newError(ptr, CodeSyntax, "过滤条件必须是 JSON 对象", "a filter must be a JSON object")
	}
	var items []Expr
	for i, k := range v.keys {
		kp := ptr + "/" + escapePointer(k)
		val := v.vals[i]
		var e Expr
		var err *Error
		switch {
		case k == "$and" || k == "$or":
			e, err = p.list(k, val, kp, depth+1)
		case k == "$not":
			if val.kind != jObject {
				return nil, newError(kp, CodeSyntax, "$not 需要一个过滤条件对象", "$not needs a filter object")
			}
			var x Expr
			if x, err = p.doc(val, kp, depth+1); err == nil {
				e, err = Not{X: x}, p.node(kp)
			}
		case strings.HasPrefix(k, "$"):
			return nil, newError(kp, CodeUnknownOperator, "不支持的运算符", "operator not supported")
		default:
			e, err = p.field(k, val, kp, depth)
		}
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	if len(items) == 1 {
		return items[0], nil
	}
	if err := p.node(ptr); err != nil {
		return nil, err
	}
	return And{Items: items}, nil
}

// list parses the array of filter documents of $and / $or.
func (p *parser) list(op string, v *jval, ptr string, depth int) (Expr, *Error) {
	if depth > MaxDepth {
		return nil, newError(ptr, CodeLimit, "过滤条件嵌套太深", "the filter is nested too deeply")
	}
	if v.kind != jArray || len(v.arr) == 0 {
		return nil, newError(ptr, CodeSyntax, op+" 需要一个非空数组", op+" needs a non-empty array")
	}
	items := make([]Expr, 0, len(v.arr))
	for i, it := range v.arr {
		e, err := p.doc(it, ptr+"/"+itoa(i), depth)
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	if err := p.node(ptr); err != nil {
		return nil, err
	}
	if op == "$or" {
		return Or{Items: items}, nil
	}
	return And{Items: items}, nil
}

// field parses the condition on one field: a scalar (implicit $eq) or an
// object of operators.
func (p *parser) field(key string, v *jval, ptr string, depth int) (Expr, *Error) {
	if strings.Contains(key, ".") {
		return nil, newError(ptr, CodePath, "不支持带点的字段路径", "dotted field paths are not supported")
	}
	f, ok := p.fields(key)
	if !ok || key == "" {
		return nil, newError(ptr, CodeUnknownField, "未知字段", "unknown field")
	}
	f.Key = key
	switch v.kind {
	case jObject:
		if err := checkOpObject(v, ptr); err != nil {
			return nil, err
		}
		return p.ops(f, v, ptr, depth)
	case jArray:
		return nil, newError(ptr, CodeValue, "数组不能作为比较值,请使用 $in", "an array is not a comparison value; use $in")
	}
	return p.cmp(f, OpEq, v, ptr)
}

// checkOpObject makes sure v is a non-empty object of operators only.
func checkOpObject(v *jval, ptr string) *Error {
	if len(v.keys) == 0 {
		return newError(ptr, CodeValue, "空对象不能作为比较值", "an empty object is not a comparison value")
	}
	for _, k := range v.keys {
		if !strings.HasPrefix(k, "$") {
			return newError(ptr, CodeValue, "对象不能作为比较值", "an object is not a comparison value")
		}
	}
	return nil
}

// ops parses a field's operator object; several operators must all hold.
func (p *parser) ops(f Field, v *jval, ptr string, depth int) (Expr, *Error) {
	var items []Expr
	var regex, options *jval
	for i, k := range v.keys {
		switch k {
		case "$regex":
			regex = v.vals[i]
		case "$options":
			options = v.vals[i]
		}
	}
	if options != nil && regex == nil {
		return nil, newError(ptr+"/$options", CodeValue, "$options 只能与 $regex 一起使用", "$options is only allowed with $regex")
	}
	for i, k := range v.keys {
		kp := ptr + "/" + escapePointer(k)
		val := v.vals[i]
		var e Expr
		var err *Error
		switch Op(k) {
		case OpEq, OpNe, OpGt, OpGte, OpLt, OpLte:
			e, err = p.cmp(f, Op(k), val, kp)
		case OpIn, OpNin:
			e, err = p.in(f, Op(k), val, kp)
		case "$exists":
			if val.kind != jBool {
				return nil, newError(kp, CodeType, "$exists 需要 true 或 false", "$exists needs true or false")
			}
			e, err = Exists{Field: f, Want: val.b}, p.node(kp)
		case "$regex":
			e, err = p.regex(f, regex, options, kp, ptr+"/$options")
		case "$options":
			continue
		case "$not":
			if depth+1 > MaxDepth {
				return nil, newError(kp, CodeLimit, "过滤条件嵌套太深", "the filter is nested too deeply")
			}
			if val.kind != jObject {
				return nil, newError(kp, CodeValue, "$not 需要一个运算符对象", "$not needs an operator object")
			}
			if err = checkOpObject(val, kp); err != nil {
				return nil, err
			}
			var x Expr
			if x, err = p.ops(f, val, kp, depth+1); err == nil {
				e, err = Not{X: x}, p.node(kp)
			}
		default:
			return nil, newError(kp, CodeUnknownOperator, "不支持的运算符", "operator not supported")
		}
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	if len(items) == 1 {
		return items[0], nil
	}
	if err := p.node(ptr); err != nil {
		return nil, err
	}
	return And{Items: items}, nil
}

// cmp parses a scalar comparison.
func (p *parser) cmp(f Field, op Op, v *jval, ptr string) (Expr, *Error) {
	if v.kind == jNull {
		if op != OpEq && op != OpNe {
			return nil, newError(ptr, CodeType, "null 只能用于 $eq 和 $ne", "null is only allowed with $eq and $ne")
		}
		return Cmp{Field: f, Op: op, Value: nil}, p.node(ptr)
	}
	if err := checkOrdered(f, op, ptr); err != nil {
		return nil, err
	}
	val, err := p.value(f, v, ptr)
	if err != nil {
		return nil, err
	}
	return Cmp{Field: f, Op: op, Value: val}, p.node(ptr)
}

// checkOrdered refuses range operators on types without an order.
func checkOrdered(f Field, op Op, ptr string) *Error {
	switch op {
	case OpGt, OpGte, OpLt, OpLte:
		switch f.Type {
		case TypeBool:
			return newError(ptr, CodeType, "布尔字段不能比较大小", "a yes/no field cannot be compared with "+string(op))
		case TypeArray:
			return newError(ptr, CodeType, "多选字段不能比较大小", "a multi-value field cannot be compared with "+string(op))
		}
	}
	return nil
}

// in parses the list of $in / $nin.
func (p *parser) in(f Field, op Op, v *jval, ptr string) (Expr, *Error) {
	if v.kind == jString && v.str == VarUnitsBelow {
		p.usedVars = true
		if f.Type != TypeString && f.Type != TypeArray {
			return nil, newError(ptr, CodeType, "单位列表只能与文本字段比较", VarUnitsBelow+" can only be compared with a text field")
		}
		list := make([]any, len(p.vars.UnitsBelow))
		for i, u := range p.vars.UnitsBelow {
			list[i] = u
		}
		return Cmp{Field: f, Op: op, Value: list}, p.node(ptr)
	}
	if v.kind != jArray {
		return nil, newError(ptr, CodeValue, string(op)+" 需要一个数组", string(op)+" needs an array")
	}
	if len(v.arr) > MaxIn {
		return nil, newError(ptr, CodeLimit, "列表太长", "the list is too long")
	}
	list := make([]any, 0, len(v.arr))
	for i, it := range v.arr {
		ip := ptr + "/" + itoa(i)
		if it.kind == jNull {
			return nil, newError(ip, CodeValue, "列表中不能有 null", "null is not allowed in a list")
		}
		val, err := p.value(f, it, ip)
		if err != nil {
			return nil, err
		}
		list = append(list, val)
	}
	return Cmp{Field: f, Op: op, Value: list}, p.node(ptr)
}

// value checks a non-null scalar against the field type and substitutes variables.
func (p *parser) value(f Field, v *jval, ptr string) (any, *Error) {
	switch v.kind {
	case jObject, jArray:
		return nil, newError(ptr, CodeValue, "比较值必须是单个值,不能是对象或数组", "a comparison value must be a single value, not an object or array")
	case jString:
		if strings.HasPrefix(v.str, "$") {
			return p.variable(f, v.str, ptr)
		}
		switch f.Type {
		case TypeString, TypeArray:
			return v.str, nil
		case TypeTime:
			t, ok := parseTime(v.str)
			if !ok {
				return nil, newError(ptr, CodeType, "时间格式错误", "not a valid time (RFC 3339 or YYYY-MM-DD)")
			}
			return t, nil
		}
	case jNumber:
		if f.Type == TypeNumber || f.Type == TypeArray {
			return v.num, nil
		}
	case jBool:
		if f.Type == TypeBool || f.Type == TypeArray {
			return v.b, nil
		}
	}
	return nil, newError(ptr, CodeType, "值的类型与字段不符", "the value's type does not match the field ("+f.Type.String()+")")
}

// variable substitutes a scalar variable.
func (p *parser) variable(f Field, name, ptr string) (any, *Error) {
	p.usedVars = true
	switch name {
	case VarUserID, VarUserUnit:
		if f.Type != TypeString && f.Type != TypeArray {
			return nil, newError(ptr, CodeType, "值的类型与字段不符", "the value's type does not match the field ("+f.Type.String()+")")
		}
		s := p.vars.UserID
		if name == VarUserUnit {
			s = p.vars.Unit
		}
		if s == "" {
			return nil, newError(ptr, CodeVariable, "当前没有登录用户,不能使用该变量", name+" is not available here")
		}
		return s, nil
	case VarNow:
		if f.Type != TypeString && f.Type != TypeTime {
			return nil, newError(ptr, CodeType, "值的类型与字段不符", "the value's type does not match the field ("+f.Type.String()+")")
		}
		if p.vars.Now.IsZero() {
			return nil, newError(ptr, CodeVariable, "当前时间不可用", name+" is not available here")
		}
		return FormatTime(p.vars.Now), nil
	case VarUnitsBelow:
		return nil, newError(ptr, CodeVariable, name+" 只能作为 $in 或 $nin 的值", name+" is a list: use it only as the value of $in or $nin")
	}
	return nil, newError(ptr, CodeVariable, "未知变量(以 $ 开头的值)", "unknown variable (values starting with $ are reserved)")
}

// regex parses $regex with its optional $options.
func (p *parser) regex(f Field, pat, opts *jval, ptr, optPtr string) (Expr, *Error) {
	if f.Type != TypeString {
		return nil, newError(ptr, CodeType, "只有文本字段可以使用 $regex", "$regex is only allowed on text fields")
	}
	if pat.kind != jString {
		return nil, newError(ptr, CodeValue, "$regex 需要一个字符串", "$regex needs a string")
	}
	fold := false
	if opts != nil {
		if opts.kind != jString || (opts.str != "" && opts.str != "i") {
			return nil, newError(optPtr, CodeValue, "$options 只支持 \"i\"", "$options only supports \"i\"")
		}
		fold = opts.str == "i"
	}
	if err := CheckRegex(pat.str); err != nil {
		err.Pointer = ptr
		return nil, err
	}
	return Regex{Field: f, Pattern: pat.str, Fold: fold}, p.node(ptr)
}

// FormatTime returns t in the canonical TimeFormat (UTC, milliseconds).
func FormatTime(t time.Time) string { return t.UTC().Truncate(time.Millisecond).Format(TimeFormat) }

// parseTime accepts RFC 3339 (any precision and offset) or a date, and
// returns the canonical TimeFormat text.
func parseTime(s string) (string, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return FormatTime(t), true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return FormatTime(t), true
	}
	return "", false
}

// String names the type for messages.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "text"
	case TypeNumber:
		return "number"
	case TypeBool:
		return "yes/no"
	case TypeTime:
		return "time"
	case TypeArray:
		return "multi-value"
	}
	return "unknown"
}

func itoa(i int) string { return strconv.Itoa(i) }

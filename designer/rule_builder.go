package designer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"formwork/engine"
)

// Condition is one row of the rule builder: "when Field Op Value".
type Condition struct {
	Field string `json:"field"`
	// Op is eq, ne, gt, ge, lt, le (numbers, dates as text, text), in and
	// not_in (Value a list), contains (text), empty and not_empty (no
	// Value), has (a multi-choice field holds Value).
	Op    string `json:"op"`
	Value any    `json:"value,omitempty"`
}

// RuleRows is a rule as the builder shows it: condition rows joined by
// all ("and") or any ("or").
type RuleRows struct {
	Join       string      `json:"join"`
	Conditions []Condition `json:"conditions"`
}

var compareOps = map[string]string{"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}

// Expr writes the rows as an expression over f's fields. EINVALID, with
// the row's pointer (/conditions/N/…), for an unknown field or operator
// or a value of the wrong kind.
func (r RuleRows) Expr(f *engine.Form) (string, error) {
	join := " && "
	switch r.Join {
	case "all", "":
	case "any":
		join = " || "
	default:
		return "", rowError("/join", "join", "条件之间须为「全部满足」或「任一满足」", "conditions are joined by all or any")
	}
	if len(r.Conditions) == 0 {
		return "", rowError("/conditions", "required", "请至少添加一个条件", "add at least one condition")
	}
	parts := make([]string, 0, len(r.Conditions))
	for i, c := range r.Conditions {
		s, err := c.expr(f)
		if err != nil {
			var e *engine.Error
			if errors.As(err, &e) && len(e.Fields) == 1 {
				e.Fields[0].Field = fmt.Sprintf("/conditions/%d%s", i, e.Fields[0].Field)
			}
			return "", err
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, join), nil
}

func rowError(ptr, code, zh, en string) error {
	return engine.Invalid(engine.FieldError{Field: ptr, Code: code, Message: engine.T(zh, en)})
}

// expr is one condition as an expression.
func (c Condition) expr(f *engine.Form) (string, error) {
	fd := f.Field(c.Field)
	if fd == nil || !engine.KeyPattern.MatchString(c.Field) {
		return "", rowError("/field", "field", "请选择一个字段", "choose a field")
	}
	lit := func(v any) (string, error) { return literal(fd, v) }
	switch c.Op {
	case "eq", "ne", "gt", "ge", "lt", "le":
		if c.Op != "eq" && c.Op != "ne" && fd.Type != "number" && fd.Type != "integer" && fd.Type != "string" {
			return "", rowError("/op", "op", "这个字段不能比较大小", "this field cannot be compared by size")
		}
		v, err := lit(c.Value)
		if err != nil {
			return "", err
		}
		return c.Field + " " + compareOps[c.Op] + " " + v, nil
	case "in", "not_in":
		vs, ok := c.Value.([]any)
		if !ok || len(vs) == 0 {
			return "", rowError("/value", "value", "请选择至少一个值", "choose at least one value")
		}
		items := make([]string, len(vs))
		for i, v := range vs {
			s, err := lit(v)
			if err != nil {
				return "", err
			}
			items[i] = s
		}
		op := " in "
		if c.Op == "not_in" {
			op = " not in "
		}
		return c.Field + op + "[" + strings.Join(items, ", ") + "]", nil
	case "contains":
		s, ok := c.Value.(string)
		if fd.Type != "string" || !ok || s == "" {
			return "", rowError("/value", "value", "请填写要包含的文字", "give the text to look for")
		}
		return c.Field + " contains " + strconv.Quote(s), nil
	case "empty", "not_empty":
		var cmp string
		switch fd.Type {
		case "string":
			cmp = c.Field + ` == ""`
		case "array":
			cmp = "len(" + c.Field + ") == 0"
		default:
			return "", rowError("/op", "op", "这个字段不能判断是否为空", "this field cannot be checked for being empty")
		}
		if c.Op == "not_empty" {
			return "!(" + cmp + ")", nil
		}
		return cmp, nil
	case "has":
		if fd.Type != "array" {
			return "", rowError("/op", "op", "只有多选字段可以用「包含选项」", "only a multiple-choice field can hold an option")
		}
		s, err := literal(&engine.Field{Type: fd.ItemType}, c.Value)
		if err != nil {
			return "", err
		}
		return s + " in " + c.Field, nil
	}
	return "", rowError("/op", "op", "请选择一个条件", "choose a condition")
}

// literal writes v as an expression literal of fd's type.
func literal(fd *engine.Field, v any) (string, error) {
	typ := "string"
	if fd != nil {
		typ = fd.Type
	}
	switch typ {
	case "number", "integer":
		switch n := v.(type) {
		case float64:
			return strconv.FormatFloat(n, 'f', -1, 64), nil
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(n), 64); err == nil {
				return strconv.FormatFloat(f, 'f', -1, 64), nil
			}
		}
		return "", rowError("/value", "value", "请填写一个数字", "give a number")
	case "boolean":
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), nil
		}
		return "", rowError("/value", "value", "请选择是或否", "choose yes or no")
	}
	s, ok := v.(string)
	if !ok {
		if b, isBool := v.(bool); isBool {
			s = strconv.FormatBool(b)
		} else if n, isNum := v.(float64); isNum {
			s = strconv.FormatFloat(n, 'f', -1, 64)
		} else {
			return "", rowError("/value", "value", "请填写一个值", "give a value")
		}
	}
	return strconv.Quote(s), nil
}

// ParseRows reads an expression back into builder rows when it has their
// shape (conditions of one field against literals, all joined by && or
// all by ||); ok is false otherwise, and the designer keeps the rule in
// advanced mode, as written.
func ParseRows(src string) (RuleRows, bool) {
	tree, err := parser.Parse(src)
	if err != nil {
		return RuleRows{}, false
	}
	var conds []Condition
	join := ""
	var walk func(n ast.Node) bool
	walk = func(n ast.Node) bool {
		if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and" || b.Operator == "||" || b.Operator == "or") {
			j := "all"
			if b.Operator == "||" || b.Operator == "or" {
				j = "any"
			}
			if join != "" && join != j {
				return false
			}
			join = j
			return walk(b.Left) && walk(b.Right)
		}
		c, ok := condition(n)
		if ok {
			conds = append(conds, c)
		}
		return ok
	}
	if !walk(tree.Node) {
		return RuleRows{}, false
	}
	if join == "" {
		join = "all"
	}
	return RuleRows{Join: join, Conditions: conds}, true
}

// condition recognises one builder row in an expression node.
func condition(n ast.Node) (Condition, bool) {
	switch n := n.(type) {
	case *ast.UnaryNode:
		if n.Operator != "!" && n.Operator != "not" {
			return Condition{}, false
		}
		c, ok := condition(n.Node)
		switch {
		case ok && c.Op == "empty":
			c.Op = "not_empty"
		case ok && c.Op == "in": // expr parses "x not in [...]" as not (x in [...])
			c.Op = "not_in"
		default:
			return Condition{}, false
		}
		return c, true
	case *ast.BinaryNode:
		if id, ok := n.Left.(*ast.IdentifierNode); ok {
			for op, sym := range compareOps {
				if n.Operator == sym {
					if s, ok := n.Right.(*ast.StringNode); ok && s.Value == "" && op == "eq" {
						return Condition{Field: id.Value, Op: "empty"}, true
					}
					v, ok := literalValue(n.Right)
					return Condition{Field: id.Value, Op: op, Value: v}, ok
				}
			}
			switch n.Operator {
			case "in", "not in":
				arr, ok := n.Right.(*ast.ArrayNode)
				if !ok {
					return Condition{}, false
				}
				vs := make([]any, len(arr.Nodes))
				for i, e := range arr.Nodes {
					if vs[i], ok = literalValue(e); !ok {
						return Condition{}, false
					}
				}
				return Condition{Field: id.Value, Op: map[string]string{"in": "in", "not in": "not_in"}[n.Operator], Value: vs}, true
			case "contains":
				s, ok := n.Right.(*ast.StringNode)
				if !ok || s == nil {
					return Condition{}, false // contains of anything but a text: advanced mode
				}
				return Condition{Field: id.Value, Op: "contains", Value: s.Value}, true
			}
		}
		if id, ok := n.Right.(*ast.IdentifierNode); ok && n.Operator == "in" {
			v, ok := literalValue(n.Left)
			return Condition{Field: id.Value, Op: "has", Value: v}, ok
		}
		if call, ok := n.Left.(*ast.BuiltinNode); ok && call.Name == "len" && len(call.Arguments) == 1 && n.Operator == "==" {
			id, okID := call.Arguments[0].(*ast.IdentifierNode)
			zero, okZero := n.Right.(*ast.IntegerNode)
			if okID && okZero && zero.Value == 0 {
				return Condition{Field: id.Value, Op: "empty"}, true
			}
		}
	}
	return Condition{}, false
}

// literalValue is the value of a literal node, as JSON would carry it.
func literalValue(n ast.Node) (any, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.IntegerNode:
		return float64(n.Value), true
	case *ast.FloatNode:
		return n.Value, true
	case *ast.BoolNode:
		return n.Value, true
	case *ast.UnaryNode:
		if n.Operator == "-" {
			if v, ok := literalValue(n.Node); ok {
				if f, isNum := v.(float64); isNum {
					return -f, true
				}
			}
		}
	}
	return nil, false
}

// RuleCheck asks the designer about one rule of a form of the draft: the
// builder's rows or an expression written in advanced mode, the kind of
// result it must give (boolean for visible, required, readonly and checks;
// a field's type for a formula), and sample values to try it on.
type RuleCheck struct {
	Form string         `json:"form"`
	Rows *RuleRows      `json:"rows,omitempty"`
	Expr string         `json:"expr,omitempty"`
	Want string         `json:"want,omitempty"`
	Data map[string]any `json:"data,omitempty"`
	// Filter is a role's custom data scope to read back into rows (with
	// Want WantFilter).
	Filter json.RawMessage `json:"filter,omitempty"`
}

// RuleResult is the answer: the expression, its rows when the builder can
// show it, its problems in plain words, and its value on the sample.
type RuleResult struct {
	Expr     string    `json:"expr"`
	Rows     *RuleRows `json:"rows,omitempty"`
	Problems []Problem `json:"problems"`
	Value    any       `json:"value,omitempty"`
	// Filter is the record filter of a data scope (Want WantFilter).
	Filter json.RawMessage `json:"filter,omitempty"`
}

// CheckRule compiles a rule against a form of app's draft as the engine
// will at publish, and tries it on sample values, so the builder shows
// errors next to the rule as the manager types. With Want WantFilter the
// rows make a role's custom data scope instead (see RuleRows.Filter), or
// a scope's filter is read back into rows. Nothing is written.
func (d *Designer) CheckRule(ctx context.Context, p *engine.Principal, app string, in RuleCheck) (*RuleResult, error) {
	cf, err := d.ruleForm(ctx, p, app, in.Form)
	if err != nil {
		return nil, err
	}
	if in.Want == WantFilter {
		return checkScope(cf.Form, in)
	}
	out := &RuleResult{Expr: in.Expr, Problems: []Problem{}}
	if in.Rows != nil {
		if out.Expr, err = in.Rows.Expr(cf.Form); err != nil {
			return nil, err
		}
	}
	if rows, ok := ParseRows(out.Expr); ok {
		out.Rows = &rows
	}
	prog, err := cf.Program(out.Expr, in.Want)
	if err != nil {
		var e *engine.Error
		if !errors.As(err, &e) {
			return nil, err
		}
		out.Problems = append(out.Problems, Problem{Pointer: "/expr", Code: "expr", Message: exprMessage(e.Message)})
		return out, nil
	}
	data := in.Data
	if data == nil {
		data = map[string]any{}
	}
	v, err := prog.Eval(&engine.Record{Data: data}, engine.UserEnvFor(p.User, app), d.svc.Now())
	if err != nil {
		out.Problems = append(out.Problems, Problem{Pointer: "/data", Code: "eval", Message: engine.T("用这些示例值无法算出结果", "these sample values give no result")})
		return out, nil
	}
	out.Value = v
	return out, nil
}

// ruleForm is the compiled form of app's draft a rule is checked
// against: the draft's own when the draft loads, else (it has a problem
// somewhere, as a draft may while the manager works — an expression half
// typed, say) the form alone with its rules left out, since a rule needs
// only the fields and their types.
func (d *Designer) ruleForm(ctx context.Context, p *engine.Principal, app, form string) (*engine.CompiledForm, error) {
	b, err := d.ruleBundle(ctx, p, app)
	switch {
	case err == nil:
		if cf := b.Compiled(form); cf != nil {
			return cf, nil
		}
		return nil, rowError("/form", "not_found", "没有这个表单", "there is no such form")
	case engine.ErrorCode(err) != engine.EINVALID:
		return nil, err
	}
	dr, err := d.Draft(ctx, p, app)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Forms []map[string]any `json:"forms"`
	}
	if err := json.Unmarshal(dr.Bundle, &doc); err != nil {
		return nil, fmt.Errorf("read draft: %w", err)
	}
	for i, m := range doc.Forms {
		if m == nil || m["x-key"] != form {
			continue
		}
		delete(m, "x-checks")
		props, _ := m["properties"].(map[string]any)
		for _, v := range props {
			if fs, ok := v.(map[string]any); ok {
				for _, kw := range []string{"x-visible", "x-required", "x-readonly", "x-compute"} {
					delete(fs, kw)
				}
			}
		}
		f, err := engine.ParseForm(engine.MustJSON(m), fmt.Sprintf("/forms/%d", i))
		if err == nil {
			var cf *engine.CompiledForm
			if cf, err = engine.CompileForm(f); err == nil {
				return cf, nil
			}
		}
		return nil, rowError("/form", "invalid", "请先解决这个表单的问题", "solve this form's problems first")
	}
	return nil, rowError("/form", "not_found", "没有这个表单", "there is no such form")
}

package engine

import (
	"reflect"

	"github.com/expr-lang/expr/ast"
)

// Most rules are small comparisons and sums over fields: `amount > 1000`,
// `level != '' && budget < 5000`, `price * qty + 1`. Running each through
// expr's VM costs a few hundred nanoseconds of dispatch, recover set-up and
// a map lookup per identifier, which on a 500-field form was most of an
// evaluation. So a rule whose checked tree uses only the shapes below is
// also compiled to Go closures over the fields' values by position, with
// the exact semantics of expr's runtime for these operand types (int and
// float arithmetic as in runtime.Add/Subtract/Multiply/Divide, mixed
// comparisons in float64, string concatenation and ordering). Anything
// else — builtins, member access, `in`, `%`, `**`, user, now, system
// fields — runs on the VM as before. FuzzFastRule compares the two.

// fastRule evaluates a rule on the fields' run-time values by position
// (what envValue gives: string, float64, int or bool by the field's type).
type fastRule func(vals []any) any

// fastNode is one compiled node; exactly one function is set, by kind.
type fastNode struct {
	kind byte // 'b' bool, 'f' float64, 'i' int, 's' string
	b    func([]any) bool
	f    func([]any) float64
	i    func([]any) int
	s    func([]any) string
}

// compileFastRule compiles a checked expr tree over the form's fields, or
// returns nil when the tree uses anything outside the fast shapes.
func compileFastRule(node ast.Node, pos map[string]int, fields []*Field) fastRule {
	n, ok := fastCompile(node, pos, fields)
	if !ok {
		return nil
	}
	switch n.kind {
	case 'b':
		fn := n.b
		return func(v []any) any { return fn(v) }
	case 'f':
		fn := n.f
		return func(v []any) any { return fn(v) }
	case 'i':
		fn := n.i
		return func(v []any) any { return fn(v) }
	case 's':
		fn := n.s
		return func(v []any) any { return fn(v) }
	}
	return nil
}

// asFloat widens an int or float node to float64, as expr's runtime does
// for mixed operands.
func (n fastNode) asFloat() func([]any) float64 {
	if n.kind == 'f' {
		return n.f
	}
	fn := n.i
	return func(v []any) float64 { return float64(fn(v)) }
}

func isNumKind(k byte) bool { return k == 'f' || k == 'i' }

func fastConst(v any) (fastNode, bool) {
	switch x := v.(type) {
	case bool:
		return fastNode{kind: 'b', b: func([]any) bool { return x }}, true
	case float64:
		return fastNode{kind: 'f', f: func([]any) float64 { return x }}, true
	case int:
		return fastNode{kind: 'i', i: func([]any) int { return x }}, true
	case string:
		return fastNode{kind: 's', s: func([]any) string { return x }}, true
	}
	return fastNode{}, false
}

func fastCompile(node ast.Node, pos map[string]int, fields []*Field) (fastNode, bool) {
	switch x := node.(type) {
	case *ast.IdentifierNode:
		i, ok := pos[x.Value]
		if !ok {
			return fastNode{}, false // user, now, today, system fields: the VM reads them
		}
		switch fields[i].Type {
		case "string":
			return fastNode{kind: 's', s: func(v []any) string { s, _ := v[i].(string); return s }}, true
		case "number":
			return fastNode{kind: 'f', f: func(v []any) float64 { n, _ := v[i].(float64); return n }}, true
		case "integer":
			return fastNode{kind: 'i', i: func(v []any) int { n, _ := v[i].(int); return n }}, true
		case "boolean":
			return fastNode{kind: 'b', b: func(v []any) bool { b, _ := v[i].(bool); return b }}, true
		}
		return fastNode{}, false
	case *ast.IntegerNode:
		// the compiler pushes an integer literal as the type the checker gave it
		if t := x.Type(); t != nil && t.Kind() == reflect.Float64 {
			return fastConst(float64(x.Value))
		} else if t != nil && t.Kind() != reflect.Int {
			return fastNode{}, false
		}
		return fastConst(x.Value)
	case *ast.FloatNode:
		if t := x.Type(); t != nil && t.Kind() != reflect.Float64 {
			return fastNode{}, false
		}
		return fastConst(x.Value)
	case *ast.StringNode:
		return fastConst(x.Value)
	case *ast.BoolNode:
		return fastConst(x.Value)
	case *ast.ConstantNode:
		return fastConst(x.Value)
	case *ast.UnaryNode:
		a, ok := fastCompile(x.Node, pos, fields)
		if !ok {
			return fastNode{}, false
		}
		switch x.Operator {
		case "!", "not":
			if a.kind != 'b' {
				return fastNode{}, false
			}
			fn := a.b
			return fastNode{kind: 'b', b: func(v []any) bool { return !fn(v) }}, true
		case "-":
			switch a.kind {
			case 'f':
				fn := a.f
				return fastNode{kind: 'f', f: func(v []any) float64 { return -fn(v) }}, true
			case 'i':
				fn := a.i
				return fastNode{kind: 'i', i: func(v []any) int { return -fn(v) }}, true
			}
		}
		return fastNode{}, false
	case *ast.BinaryNode:
		a, ok := fastCompile(x.Left, pos, fields)
		if !ok {
			return fastNode{}, false
		}
		b, ok := fastCompile(x.Right, pos, fields)
		if !ok {
			return fastNode{}, false
		}
		return fastBinary(x.Operator, a, b)
	case *ast.ConditionalNode:
		c, ok := fastCompile(x.Cond, pos, fields)
		if !ok || c.kind != 'b' {
			return fastNode{}, false
		}
		a, ok := fastCompile(x.Exp1, pos, fields)
		if !ok {
			return fastNode{}, false
		}
		b, ok := fastCompile(x.Exp2, pos, fields)
		if !ok || a.kind != b.kind {
			return fastNode{}, false
		}
		cond := c.b
		switch a.kind {
		case 'b':
			p, q := a.b, b.b
			return fastNode{kind: 'b', b: func(v []any) bool {
				if cond(v) {
					return p(v)
				}
				return q(v)
			}}, true
		case 'f':
			p, q := a.f, b.f
			return fastNode{kind: 'f', f: func(v []any) float64 {
				if cond(v) {
					return p(v)
				}
				return q(v)
			}}, true
		case 'i':
			p, q := a.i, b.i
			return fastNode{kind: 'i', i: func(v []any) int {
				if cond(v) {
					return p(v)
				}
				return q(v)
			}}, true
		case 's':
			p, q := a.s, b.s
			return fastNode{kind: 's', s: func(v []any) string {
				if cond(v) {
					return p(v)
				}
				return q(v)
			}}, true
		}
	}
	return fastNode{}, false
}

func fastBinary(op string, a, b fastNode) (fastNode, bool) {
	switch op {
	case "&&", "and", "||", "or":
		if a.kind != 'b' || b.kind != 'b' {
			return fastNode{}, false
		}
		p, q := a.b, b.b
		if op == "&&" || op == "and" {
			return fastNode{kind: 'b', b: func(v []any) bool { return p(v) && q(v) }}, true
		}
		return fastNode{kind: 'b', b: func(v []any) bool { return p(v) || q(v) }}, true
	case "==", "!=":
		var eq func([]any) bool
		switch {
		case a.kind == 'i' && b.kind == 'i':
			p, q := a.i, b.i
			eq = func(v []any) bool { return p(v) == q(v) }
		case isNumKind(a.kind) && isNumKind(b.kind):
			p, q := a.asFloat(), b.asFloat()
			eq = func(v []any) bool { return p(v) == q(v) }
		case a.kind == 's' && b.kind == 's':
			p, q := a.s, b.s
			eq = func(v []any) bool { return p(v) == q(v) }
		case a.kind == 'b' && b.kind == 'b':
			p, q := a.b, b.b
			eq = func(v []any) bool { return p(v) == q(v) }
		default:
			return fastNode{}, false
		}
		if op == "!=" {
			return fastNode{kind: 'b', b: func(v []any) bool { return !eq(v) }}, true
		}
		return fastNode{kind: 'b', b: eq}, true
	case "<", "<=", ">", ">=":
		switch {
		case a.kind == 'i' && b.kind == 'i':
			return fastNode{kind: 'b', b: ordered(op, a.i, b.i)}, true
		case isNumKind(a.kind) && isNumKind(b.kind):
			return fastNode{kind: 'b', b: ordered(op, a.asFloat(), b.asFloat())}, true
		case a.kind == 's' && b.kind == 's':
			return fastNode{kind: 'b', b: ordered(op, a.s, b.s)}, true
		}
		return fastNode{}, false
	case "+", "-", "*":
		switch {
		case a.kind == 'i' && b.kind == 'i':
			return fastNode{kind: 'i', i: arith(op, a.i, b.i)}, true
		case isNumKind(a.kind) && isNumKind(b.kind):
			return fastNode{kind: 'f', f: arith(op, a.asFloat(), b.asFloat())}, true
		case op == "+" && a.kind == 's' && b.kind == 's':
			p, q := a.s, b.s
			return fastNode{kind: 's', s: func(v []any) string { return p(v) + q(v) }}, true
		}
		return fastNode{}, false
	case "/":
		if !isNumKind(a.kind) || !isNumKind(b.kind) {
			return fastNode{}, false
		}
		p, q := a.asFloat(), b.asFloat()
		return fastNode{kind: 'f', f: func(v []any) float64 { return p(v) / q(v) }}, true
	}
	return fastNode{}, false
}

func ordered[T int | float64 | string](op string, p, q func([]any) T) func([]any) bool {
	switch op {
	case "<":
		return func(v []any) bool { return p(v) < q(v) }
	case "<=":
		return func(v []any) bool { return p(v) <= q(v) }
	case ">":
		return func(v []any) bool { return p(v) > q(v) }
	}
	return func(v []any) bool { return p(v) >= q(v) }
}

func arith[T int | float64](op string, p, q func([]any) T) func([]any) T {
	switch op {
	case "+":
		return func(v []any) T { return p(v) + q(v) }
	case "-":
		return func(v []any) T { return p(v) - q(v) }
	}
	return func(v []any) T { return p(v) * q(v) }
}

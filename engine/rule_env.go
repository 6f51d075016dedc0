package engine

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/vm"
)

// Limits on rule expressions, which come from people we do not fully trust.
const (
	MaxExprLength = 2000 // characters of source
	MaxExprNodes  = 500  // AST nodes
	MaxExprDepth  = 32   // nesting of brackets
	// ExprMemoryBudget bounds what one run may allocate (ranges, maps, filters).
	ExprMemoryBudget = 100000
)

// ExprFunctions are the only functions rules may call: expr builtins that do
// bounded work on their inputs. repeat, now(), toJSON/fromJSON and anything
// touching the environment are not among them.
var ExprFunctions = []string{
	"all", "none", "any", "one", "filter", "map", "find", "findIndex", "findLast", "findLastIndex",
	"count", "sum", "len", "abs", "ceil", "floor", "round", "int", "float", "string",
	"trim", "trimPrefix", "trimSuffix", "upper", "lower", "split", "replace", "join",
	"indexOf", "lastIndexOf", "hasPrefix", "hasSuffix", "max", "min", "mean", "median",
	"duration", "date", "first", "last", "take", "reverse", "uniq", "concat", "type",
}

// UserEnv is what rules see of the current user: `user.id`, `user.unit`, `user.roles`.
type UserEnv struct {
	ID    string   `expr:"id" json:"id"`
	Unit  string   `expr:"unit" json:"unit"`
	Roles []string `expr:"roles" json:"roles"`
}

// SystemFields are readable in rules and filters on every record.
var SystemFields = []string{"_id", "_unit", "_owner", "_status", "_created_at", "_updated_at", "_version"}

// zeroFor returns the Go value rules see for an empty field of the type.
func zeroFor(f *Field) any {
	switch f.Type {
	case "string":
		return ""
	case "number":
		return float64(0)
	case "integer":
		return 0
	case "boolean":
		return false
	case "array":
		return []any{}
	case "object":
		return map[string]any{}
	}
	return nil
}

// typeEnv builds expr's type environment for rules over fields.
func typeEnv(fields []*Field) map[string]any {
	env := make(map[string]any, len(fields)+len(SystemFields)+3)
	for _, f := range fields {
		env[f.Key] = zeroFor(f)
	}
	for _, s := range SystemFields {
		env[s] = ""
	}
	env["_version"] = 0
	env["user"] = UserEnv{}
	env["now"] = time.Time{}
	env["today"] = ""
	return env
}

// exprProgram is one compiled rule with the record fields it reads.
type exprProgram struct {
	src  string
	prog *vm.Program
	refs []string // identifiers read (fields, system fields, user, now, today)
	fast fastRule // the same rule as Go closures, when it has a fast shape (rule_fast.go)
}

// exprCompileError is an expression refused at load time.
type exprCompileError struct{ msg Text }

func (e *exprCompileError) Error() string { return e.msg.En }

// exprCompiler compiles many expressions against one environment; building
// expr's view of a 500-field environment once instead of per expression
// keeps loading a large form fast.
type exprCompiler struct {
	mu   sync.Mutex
	env  map[string]any
	base *conf.Config
}

func newExprCompiler(env map[string]any) *exprCompiler {
	c := conf.CreateNew()
	opts := []expr.Option{expr.Env(env), expr.MaxNodes(MaxExprNodes), expr.DisableAllBuiltins(), expr.Optimize(true)}
	for _, fn := range ExprFunctions {
		opts = append(opts, expr.EnableBuiltin(fn))
	}
	for _, op := range opts {
		op(c)
	}
	for name := range c.Disabled {
		delete(c.Builtins, name)
	}
	c.Check()
	return &exprCompiler{env: env, base: c}
}

// compile parses, type-checks, optimises and compiles one expression the
// way expr.Compile does, on a copy of the shared configuration.
func (ec *exprCompiler) compile(src string, want string) (p *vm.Program, err error) {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot compile: %v", r)
		}
	}()
	c := *ec.base
	if want == "boolean" {
		expr.AsBool()(&c)
	}
	tree, err := checker.ParseCheck(src, &c)
	if err != nil {
		return nil, err
	}
	if c.Optimize {
		if err := optimizer.Optimize(&tree.Node, &c); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, fe.Bind(tree.Source)
			}
			return nil, err
		}
	}
	return compiler.Compile(tree, &c)
}

// compileExpr compiles src against env, checks the result kind and refuses
// anything outside the safe subset.
func compileExpr(src string, env map[string]any, want string) (*exprProgram, error) {
	return newExprCompiler(env).check(src, want)
}

// check compiles src, checks the result kind and refuses anything outside
// the safe subset.
func (ec *exprCompiler) check(src string, want string) (*exprProgram, error) {
	env := ec.env
	if len(src) > MaxExprLength {
		return nil, &exprCompileError{Tf("表达式过长（%d 个字符，最多 %d 个）", "expression too long (%d characters, at most %d)", len(src), MaxExprLength)}
	}
	if d := bracketDepth(src); d > MaxExprDepth {
		return nil, &exprCompileError{Tf("表达式嵌套过深（%d 层，最多 %d 层）", "expression nested too deep (%d levels, at most %d)", d, MaxExprDepth)}
	}
	prog, err := ec.compile(src, want)
	if err != nil {
		msg := strings.TrimSpace(err.Error())
		return nil, &exprCompileError{Text{Zh: "表达式错误：" + msg, En: "expression error: " + msg}}
	}
	v := &safetyVisitor{env: env}
	node := prog.Node()
	ast.Walk(&node, v)
	if v.err != nil {
		return nil, &exprCompileError{*v.err}
	}
	if want != "" && want != "boolean" {
		if t := node.Type(); t != nil && !kindFits(t, want) {
			return nil, &exprCompileError{Tf("表达式结果类型 %s 与字段类型 %s 不符", "expression yields %s, but the field is %s", t.String(), want)}
		}
	}
	refs := make([]string, 0, len(v.refs))
	for r := range v.refs {
		refs = append(refs, r)
	}
	return &exprProgram{src: src, prog: prog, refs: refs}, nil
}

func bracketDepth(s string) int {
	d, maxd := 0, 0
	var quote rune
	esc := false
	for _, r := range s {
		if quote != 0 {
			switch {
			case esc:
				esc = false
			case r == '\\':
				esc = true
			case r == quote:
				quote = 0
			}
			continue
		}
		switch r {
		case '"', '\'', '`':
			quote = r
		case '(', '[', '{':
			d++
			if d > maxd {
				maxd = d
			}
		case ')', ']', '}':
			d--
		}
	}
	return maxd
}

func kindFits(t reflect.Type, want string) bool {
	k := t.Kind()
	if k == reflect.Interface {
		return true
	}
	switch want {
	case "number", "integer":
		return k >= reflect.Int && k <= reflect.Float64
	case "string":
		return k == reflect.String
	case "boolean":
		return k == reflect.Bool
	case "array":
		return k == reflect.Slice || k == reflect.Array
	case "object":
		return k == reflect.Map || k == reflect.Struct
	}
	return true
}

// safetyVisitor refuses method calls on Go values and function calls other
// than the whitelisted builtins, and collects the identifiers read.
type safetyVisitor struct {
	env  map[string]any
	refs map[string]bool
	err  *Text
}

func (v *safetyVisitor) Visit(n *ast.Node) {
	if v.refs == nil {
		v.refs = map[string]bool{}
	}
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		if x.Value == "$env" && v.err == nil {
			// $env would read fields without naming them, defeating the
			// reference checks and the formula order
			t := T("规则中不允许使用 $env，请直接写字段名", "rules may not use $env; name the fields instead")
			v.err = &t
		}
		if _, ok := v.env[x.Value]; ok {
			v.refs[x.Value] = true
		}
	case *ast.MemberNode:
		if x.Method && v.err == nil {
			t := T("规则中不允许调用方法", "method calls are not allowed in rules")
			v.err = &t
		}
	case *ast.CallNode:
		if v.err == nil {
			t := T("规则中只能调用内置函数", "only built-in functions may be called in rules")
			v.err = &t
		}
	case *ast.BuiltinNode:
		ok := false
		for _, fn := range ExprFunctions {
			if fn == x.Name {
				ok = true
			}
		}
		if !ok && v.err == nil {
			t := Tf("规则中不允许使用函数 %s", "function %s is not allowed in rules", x.Name)
			v.err = &t
		}
	}
}

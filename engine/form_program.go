package engine

import (
	"errors"
	"time"

	"github.com/expr-lang/expr/vm"
)

// Program is one expression compiled against a form's fields, for code
// outside the rule evaluator that runs expressions over stored records:
// the workflow runtime's conditions and the values its action nodes set.
// It goes through the same safety checks as the bundle's rules.
type Program struct {
	cf *CompiledForm
	p  *exprProgram
}

// Program compiles src against the form; want is the result kind
// ("boolean", a field type, or "" for any). A refused expression is
// EINVALID, its message the compiler's (see the designer's plain words).
func (cf *CompiledForm) Program(src, want string) (*Program, error) {
	p, err := compileExpr(src, cf.env, want)
	if err != nil {
		var ce *exprCompileError
		if errors.As(err, &ce) {
			return nil, &Error{Code: EINVALID, Message: ce.msg}
		}
		return nil, err
	}
	return &Program{cf: cf, p: p}, nil
}

// Eval runs the program over rec as user sees it at now.
func (p *Program) Eval(rec *Record, user UserEnv, now time.Time) (any, error) {
	env := p.cf.buildEnv(rec.Data, EvalInput{Data: rec.Data, Now: now, User: user, System: SystemOf(rec)})
	machine := &vm.VM{MemoryBudget: ExprMemoryBudget}
	return machine.Run(p.p.prog, env)
}

// FieldValue runs the program and converts its result to the value stored
// in fd, as a formula's would be (nil when it has none).
func (p *Program) FieldValue(rec *Record, user UserEnv, now time.Time, fd *Field) (any, error) {
	out, err := p.Eval(rec, user, now)
	if err != nil {
		return nil, err
	}
	return normaliseComputed(out, fd), nil
}

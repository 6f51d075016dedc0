package engine

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/expr-lang/expr/vm"
)

// EvalInput is one submission to evaluate against a compiled form.
type EvalInput struct {
	Data   map[string]any // the submitted values (for an update: stored values merged with the patch)
	Prev   map[string]any // the stored values on update; nil on create
	User   UserEnv
	Now    time.Time
	TZ     *time.Location // the org's time zone for `today`; nil = UTC
	System map[string]any // _id, _unit, _owner, _status, _created_at, _updated_at, _version
	// NoFieldMap leaves EvalResult.Fields nil (States has the same).
	NoFieldMap bool
	// InPlace lets Evaluate turn Data itself into the effective data (the
	// result's Data is then the same map) instead of building a new map,
	// when the submission passes; when it fails, Data is left as it was
	// sent. For callers that give Data away, such as an update's merged
	// copy of the stored record: a write then builds no second map of
	// every field's value.
	InPlace bool
	// TrustReadonly keeps submitted values of readonly fields: for writes
	// by the system (a workflow's action node), not by people.
	TrustReadonly bool
	// SkipTimeChecks skips cross-field checks that read now or today (sample
	// data is written once and must not expire).
	SkipTimeChecks bool
}

// FieldState is what the rules decided for one field.
type FieldState struct {
	Visible  bool `json:"visible"`
	Required bool `json:"required"`
	Readonly bool `json:"readonly"`
	Computed bool `json:"computed,omitempty"`
}

// EvalResult is the outcome of evaluating a submission: the data to store
// (hidden fields dropped, formulas computed, readonly values kept), each
// field's state, and every error found.
type EvalResult struct {
	Data   map[string]any `json:"data"`
	Errors []FieldError   `json:"errors,omitempty"`
	// States are the fields' states by position in Form.Fields; FieldMap
	// gives them by key.
	States []FieldState          `json:"-"`
	Fields map[string]FieldState `json:"fields"`
	// Rows are, for each subform whose columns carry rules, the states of
	// those columns by row (not filled with NoFieldMap).
	Rows map[string][]map[string]FieldState `json:"rows,omitempty"`
	form *Form
}

// Form returns the form the result is about (nil for a result built by
// hand).
func (r *EvalResult) Form() *Form { return r.form }

// FieldMap returns every field's state by key.
func (r *EvalResult) FieldMap() map[string]FieldState {
	m := make(map[string]FieldState, len(r.States))
	if r.form != nil {
		for i, fd := range r.form.Fields {
			m[fd.Key] = r.States[i]
		}
	}
	return m
}

// OK reports whether the submission passed.
func (r *EvalResult) OK() bool { return len(r.Errors) == 0 }

// Evaluate runs the form's rules in order — compute, visible, required and
// readonly, JSON Schema validation of the effective schema, cross-field
// checks — and returns the effective data with all errors. It never panics
// on user data: a rule failing at run time is reported as a field error.
//
// The work is done on slices indexed by field position: rules of the fast
// shapes (rule_fast.go) read the fields' values from a pooled slice, the
// others run on a reused VM over a pooled environment map that holds only
// the fields they read, so a 500-field form costs few allocations beyond
// the result itself (BenchmarkEvaluate500 compares it with the bare VM).
// Each step is a method of evaluation (rule_eval_state.go).
func (cf *CompiledForm) Evaluate(in EvalInput) *EvalResult {
	ev := cf.evalPool.Get().(*evalState)
	defer cf.release(ev)
	e := evaluation{
		evalState: ev,
		cf:        cf,
		in:        in,
		res:       &EvalResult{States: make([]FieldState, len(cf.Form.Fields)), form: cf.Form},
	}
	e.readInput()
	if in.Prev == nil {
		e.applyDefaults()
	}
	e.evalRows()
	e.fillEnv()
	e.compute(nil)
	e.decideVisible()
	e.dropHidden()
	e.decideRequiredReadonly()
	e.keepReadonly()
	e.checkRequired()
	e.rowErrors()
	if e.recompute && len(cf.compute) > 0 {
		// formulas must see the kept readonly values, not what was sent
		// for them, and hidden fields as empty (nothing to redo when
		// every kept value is the one sent and nothing a formula reads
		// was hidden)
		e.compute(e.res.States)
	}
	cf.validateSchema(e.res, e.vals)
	if len(e.res.Errors) == 0 {
		// cross-field checks only when the fields themselves are valid
		e.runChecks()
	}
	return e.result()
}

// unknownKey adds the error for a submitted key that is no field of the
// form; system fields (keys starting with "_") that clients echo back are
// not data and are ignored.
func (cf *CompiledForm) unknownKey(errs []FieldError, k string) []FieldError {
	if len(k) > 0 && k[0] == '_' {
		return errs
	}
	return append(errs, FieldError{Field: JSONPointer(k), Code: "unknown_field", Message: Tf("表单中没有字段 %q", "the form has no field %q", k)})
}

// dataOf returns the non-empty values by field key.
func (cf *CompiledForm) dataOf(vals []any) map[string]any {
	n := 0
	for _, v := range vals {
		if v != nil {
			n++
		}
	}
	m := make(map[string]any, n)
	for i, v := range vals {
		if v != nil {
			m[cf.Form.Fields[i].Key] = v
		}
	}
	return m
}

// setContext puts the system fields, user, now and today into env.
func (cf *CompiledForm) setContext(env map[string]any, in EvalInput) {
	for _, k := range SystemFields {
		env[k] = ""
	}
	env["_version"] = 0
	for k, v := range in.System {
		switch k {
		case "_version":
			switch n := v.(type) {
			case int64:
				env[k] = int(n)
			case int:
				env[k] = n
			case float64:
				env[k] = int(n)
			}
		default:
			if s, ok := v.(string); ok {
				if _, sys := env[k]; sys {
					env[k] = s
				}
			}
		}
	}
	if in.User.Roles == nil {
		in.User.Roles = []string{}
	}
	env["user"] = in.User
	tz := in.TZ
	if tz == nil {
		tz = time.UTC
	}
	env["now"] = in.Now
	env["today"] = in.Now.In(tz).Format("2006-01-02")
}

// validateSchema runs the JSON Schema pass on the effective data: each
// field's fast check, and jsonschema on the fields it is not sure about
// (see schema_fast.go); the whole document when the form could not be
// split into fields.
func (cf *CompiledForm) validateSchema(res *EvalResult, vals []any) {
	if cf.schema == nil {
		return
	}
	if cf.fields == nil {
		if err := cf.schema.Validate(toSchemaValue(cf.dataOf(vals))); err != nil {
			res.Errors = append(res.Errors, dataErrors(err, cf.Form)...)
		}
		return
	}
	for i, v := range vals {
		if v == nil {
			continue
		}
		fs := &cf.fields[i]
		if fs.fast != nil && fs.fast(v) {
			continue
		}
		if err := fs.full.Validate(schemaValue(v)); err != nil {
			res.Errors = append(res.Errors, valueErrors(err, cf.Form.Fields[i])...)
		}
	}
}

// sortFieldErrors orders errors by the form's field order, then by pointer.
func sortFieldErrors(errs []FieldError, f *Form) {
	pos := map[string]int{}
	for i, fd := range f.Fields {
		pos[fd.Key] = i
	}
	key := func(e FieldError) (int, string) {
		p := e.Field
		if len(p) > 1 {
			k := p[1:]
			for j := 0; j < len(k); j++ {
				if k[j] == '/' {
					k = k[:j]
					break
				}
			}
			if i, ok := pos[k]; ok {
				return i, p
			}
		}
		return len(f.Fields), p
	}
	sort.SliceStable(errs, func(i, j int) bool {
		a, ap := key(errs[i])
		b, bp := key(errs[j])
		if a != b {
			return a < b
		}
		return ap < bp
	})
}

// buildEnv makes a fresh run-time environment (for callers outside
// Evaluate): every field (empty ones as their type's zero value), system
// fields, user, now and today.
func (cf *CompiledForm) buildEnv(data map[string]any, in EvalInput) map[string]any {
	env := make(map[string]any, len(cf.zeros)+len(SystemFields)+3)
	for i, fd := range cf.Form.Fields {
		if v, ok := data[fd.Key]; ok && v != nil {
			env[fd.Key] = envValue(v, fd)
		} else {
			env[fd.Key] = cf.zeros[i]
		}
	}
	cf.setContext(env, in)
	return env
}

// envValue converts a stored JSON value to what rules see for the field's
// type; a value of the wrong type reads as the zero value (validation
// reports it).
func envValue(v any, fd *Field) any {
	switch fd.Type {
	case "string":
		if _, ok := v.(string); ok {
			return v // the same interface value: no new allocation
		}
	case "number":
		if _, ok := v.(float64); ok {
			return v
		}
		if n, ok := toFloat(v); ok {
			return n
		}
	case "integer":
		if n, ok := toFloat(v); ok && n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int(n)
		}
	case "boolean":
		if _, ok := v.(bool); ok {
			return v
		}
	case "array":
		if a, ok := v.([]any); ok {
			if fd.IsSubform() {
				out := make([]any, len(a))
				for i, it := range a {
					m, _ := it.(map[string]any)
					row := make(map[string]any, len(fd.Fields))
					for _, sf := range fd.Fields {
						if sv, ok := m[sf.Key]; ok && sv != nil {
							row[sf.Key] = envValue(sv, sf)
						} else {
							row[sf.Key] = zeroFor(sf)
						}
					}
					out[i] = row
				}
				return out
			}
			return a
		}
	case "object":
		if m, ok := v.(map[string]any); ok {
			return m
		}
	}
	return zeroFor(fd)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	}
	return 0, false
}

// normaliseComputed converts a formula's result to the stored JSON value.
func normaliseComputed(out any, fd *Field) any {
	switch fd.Type {
	case "number", "integer":
		n, ok := toFloat(out)
		if !ok || math.IsNaN(n) || math.IsInf(n, 0) {
			return nil
		}
		r := n
		if fd.Type == "integer" {
			r = math.Round(n)
		} else if math.Abs(n) < 1e15 {
			r = math.Round(n*1e8) / 1e8 // drop float noise such as 0.30000000000000004
		}
		if f, ok := out.(float64); ok && f == r {
			return out // already the stored value: keep the VM's box rather than allocate another
		}
		return r
	case "string":
		switch s := out.(type) {
		case string:
			return s
		case time.Time:
			if fd.Format == "date" {
				return s.Format("2006-01-02")
			}
			return s.UTC().Format(time.RFC3339)
		case nil:
			return nil
		}
		return fmt.Sprint(out)
	case "boolean":
		b, ok := out.(bool)
		if !ok {
			return nil
		}
		return b
	}
	return out
}

// sameScalar reports whether a and b are the same string, number or
// boolean (arrays and objects are never the same here: callers treat them
// as changed).
func sameScalar(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	}
	return false
}

// CloneValue deep-copies a decoded JSON value.
func CloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = CloneValue(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = CloneValue(e)
		}
		return a
	}
	return v
}

// toSchemaValue converts decoded JSON (float64 numbers) into what the
// jsonschema validator expects; it accepts float64, so only nested values
// of other Go types need converting.
func toSchemaValue(m map[string]any) any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = schemaValue(v)
	}
	return out
}

func schemaValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = schemaValue(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = schemaValue(e)
		}
		return a
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return v
}

func readsTime(p *exprProgram) bool {
	for _, r := range p.refs {
		if r == "now" || r == "today" {
			return true
		}
	}
	return false
}

// runBudgeted runs one program on an environment within the memory budget.
func runBudgeted(p *exprProgram, env map[string]any) (any, error) {
	machine := &vm.VM{MemoryBudget: ExprMemoryBudget}
	return machine.Run(p.prog, env)
}

package engine

import (
	"fmt"
	"maps"
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
	Data   map[string]any        `json:"data"`
	Fields map[string]FieldState `json:"fields"`
	Errors []FieldError          `json:"errors,omitempty"`
}

// OK reports whether the submission passed.
func (r *EvalResult) OK() bool { return len(r.Errors) == 0 }

// Evaluate runs the form's rules in order — compute, visible, required and
// readonly, JSON Schema validation of the effective schema, cross-field
// checks — and returns the effective data with all errors. It never panics
// on user data: a rule failing at run time is reported as a field error.
func (cf *CompiledForm) Evaluate(in EvalInput) *EvalResult {
	f := cf.Form
	res := &EvalResult{Data: make(map[string]any, len(in.Data)), Fields: make(map[string]FieldState, cf.nfields)}
	machine := &vm.VM{MemoryBudget: ExprMemoryBudget}

	// Unknown keys are errors; empty strings count as "no value".
	for k, v := range in.Data {
		fd := f.Field(k)
		if fd == nil {
			if len(k) > 0 && k[0] == '_' {
				continue // system fields are not data; ignore what clients echo back
			}
			res.Errors = append(res.Errors, FieldError{Field: JSONPointer(k), Code: "unknown_field", Message: Tf("表单中没有字段 %q", "the form has no field %q", k)})
			continue
		}
		if s, ok := v.(string); ok && s == "" {
			continue
		}
		if v == nil {
			continue
		}
		res.Data[k] = v
	}
	// Defaults on create.
	if in.Prev == nil {
		for _, fd := range f.Fields {
			if _, ok := res.Data[fd.Key]; !ok && fd.HasDefault && fd.Default != nil {
				res.Data[fd.Key] = CloneValue(fd.Default)
			}
		}
	}

	env := cf.buildEnv(res.Data, in)
	run := func(p *exprProgram, ptr string) (any, bool) {
		out, err := machine.Run(p.prog, env)
		if err != nil {
			res.Errors = append(res.Errors, FieldError{Field: ptr, Code: "rule", Message: Tf("规则无法计算：%v", "the rule could not be evaluated: %v", err)})
			return nil, false
		}
		return out, true
	}

	// 1. compute
	for _, fr := range cf.compute {
		fd := fr.field
		delete(res.Data, fd.Key) // a formula's value is the server's, whatever was sent
		if numberMissing(fr.comput.refs, res.Data, f) {
			env[fd.Key] = zeroFor(fd)
			continue
		}
		out, ok := run(fr.comput, fr.ptr)
		if !ok {
			env[fd.Key] = zeroFor(fd)
			continue
		}
		v := normaliseComputed(out, fd)
		if v == nil {
			env[fd.Key] = zeroFor(fd)
			continue
		}
		res.Data[fd.Key] = v
		env[fd.Key] = envValue(v, fd)
	}

	// 2. visible, 3. required / readonly — states by field position, so a
	// 500-field form costs no map churn here
	states := make([]FieldState, len(f.Fields))
	for i, fd := range f.Fields {
		states[i] = FieldState{Visible: true, Required: cf.required[fd.Key]}
	}
	for _, fr := range cf.rules {
		st := &states[fr.pos]
		if fr.visible != nil {
			if out, ok := run(fr.visible, fr.ptr); ok {
				st.Visible, _ = out.(bool)
			}
		}
		st.Computed = fr.comput != nil
	}
	for i, fd := range f.Fields {
		if !states[i].Visible {
			delete(res.Data, fd.Key)
			env[fd.Key] = zeroFor(fd)
		}
	}
	for _, fr := range cf.rules {
		st := &states[fr.pos]
		if !st.Visible {
			continue
		}
		if fr.required != nil {
			if out, ok := run(fr.required, fr.ptr); ok {
				b, _ := out.(bool)
				st.Required = st.Required || b
			}
		}
		if fr.readonly != nil {
			if out, ok := run(fr.readonly, fr.ptr); ok {
				st.Readonly, _ = out.(bool)
			}
		}
		if st.Computed {
			st.Readonly = true
			st.Required = false
		}
	}
	for i, fd := range f.Fields {
		st := states[i]
		res.Fields[fd.Key] = st
		if !st.Visible {
			continue
		}
		if st.Readonly && !st.Computed {
			// nobody edits a readonly field: keep what was stored (or the default on create)
			if in.Prev != nil {
				if pv, ok := in.Prev[fd.Key]; ok && pv != nil {
					res.Data[fd.Key] = pv
				} else {
					delete(res.Data, fd.Key)
				}
			} else if fd.HasDefault {
				res.Data[fd.Key] = CloneValue(fd.Default)
			} else {
				delete(res.Data, fd.Key)
			}
		}
		if st.Required && isEmpty(res.Data[fd.Key]) {
			res.Errors = append(res.Errors, FieldError{Field: JSONPointer(fd.Key), Code: "required", Message: T("请填写"+fd.LabelOr().Zh, fd.LabelOr().En+" is required")})
		}
	}

	// 4. JSON Schema validation of the effective data
	if cf.schema != nil {
		if err := cf.schema.Validate(toSchemaValue(res.Data)); err != nil {
			res.Errors = append(res.Errors, schemaErrors(err, "")...)
		}
	}

	// 5. cross-field checks (only when the fields themselves are valid)
	if len(res.Errors) == 0 {
		for i := range res.Data {
			if fd := f.Field(i); fd != nil {
				env[i] = envValue(res.Data[i], fd)
			}
		}
		for i, ch := range cf.checks {
			if in.SkipTimeChecks && readsTime(ch.prog) {
				continue
			}
			out, ok := run(ch.prog, fmt.Sprintf("/x-checks/%d", i))
			if !ok {
				continue
			}
			if b, _ := out.(bool); !b {
				ptr := ""
				if len(ch.check.Fields) > 0 {
					ptr = JSONPointer(ch.check.Fields[0])
				}
				res.Errors = append(res.Errors, FieldError{Field: ptr, Code: "check", Message: ch.check.Message})
			}
		}
	}
	if len(res.Errors) > 1 {
		sortFieldErrors(res.Errors, f)
	}
	return res
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

// buildEnv makes the run-time environment: every field (empty ones as their
// type's zero value), system fields, user, now and today.
func (cf *CompiledForm) buildEnv(data map[string]any, in EvalInput) map[string]any {
	env := maps.Clone(cf.zeroEnv)
	for k, v := range data {
		if fd := cf.Form.Field(k); fd != nil {
			env[k] = envValue(v, fd)
		}
	}
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
				env[k] = s
			}
		}
	}
	if in.User.Roles == nil {
		in.User.Roles = []string{}
	}
	env["user"] = in.User
	now := in.Now
	tz := in.TZ
	if tz == nil {
		tz = time.UTC
	}
	env["now"] = now
	env["today"] = now.In(tz).Format("2006-01-02")
	return env
}

// envValue converts a stored JSON value to what rules see for the field's
// type; a value of the wrong type reads as the zero value (validation
// reports it).
func envValue(v any, fd *Field) any {
	switch fd.Type {
	case "string":
		if s, ok := v.(string); ok {
			return s
		}
	case "number":
		if n, ok := toFloat(v); ok {
			return n
		}
	case "integer":
		if n, ok := toFloat(v); ok && n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int(n)
		}
	case "boolean":
		if b, ok := v.(bool); ok {
			return b
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
		if fd.Type == "integer" {
			n = math.Round(n)
		} else {
			n = math.Round(n*1e8) / 1e8 // drop float noise such as 0.30000000000000004
		}
		return n
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

// numberMissing reports whether a number field a formula reads is empty: a
// formula stays empty until its numbers are filled in, rather than showing
// a misleading 0. Empty texts, booleans and subforms read as "", false, [].
func numberMissing(refs []string, data map[string]any, f *Form) bool {
	for _, r := range refs {
		fd := f.Field(r)
		if fd == nil || (fd.Type != "number" && fd.Type != "integer") {
			continue
		}
		if isEmpty(data[r]) {
			return true
		}
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

package engine

import "github.com/expr-lang/expr/vm"

// evaluation is one run of Evaluate, one method per step: the form, the
// submission, the result being built, and the pooled scratch space the
// steps share. It lives on Evaluate's stack; only its evalState is
// reused between runs.
type evaluation struct {
	*evalState
	cf  *CompiledForm
	in  EvalInput // a copy: a pointer to Evaluate's parameter would move it to the heap
	res *EvalResult
	// mapRead: by position, does the environment map hold the field
	mapRead []bool
	// extra: in.Data has keys that are no field
	extra bool
	// recompute: a value a formula reads was hidden or restored after
	// the formulas ran
	recompute bool
	// rowResults: what the subforms' column rules made of their rows
	rowResults []rowResult
}

// evalState is the scratch space of one evaluation, pooled per form.
type evalState struct {
	vals []any // effective value by field position; nil = empty
	fenv []any // what fast rules see of each field they read, by position
	// present: the key was in in.Data; dirty: vals holds a value that is
	// not the one read from in.Data (for InPlace)
	present []bool
	dirty   []bool
	env     map[string]any
	vm      vm.VM
}

func (cf *CompiledForm) newEvalState() any {
	n := len(cf.Form.Fields)
	env := make(map[string]any, n+len(SystemFields)+4)
	flags := make([]bool, 2*n)
	return &evalState{
		vals:    make([]any, n),
		fenv:    make([]any, n),
		present: flags[:n:n],
		dirty:   flags[n:],
		env:     env,
		vm:      vm.VM{MemoryBudget: ExprMemoryBudget},
	}
}

// release returns scratch space to the pool without holding on to the
// evaluation's values.
func (cf *CompiledForm) release(ev *evalState) {
	clear(ev.vals)
	clear(ev.fenv)
	clear(ev.present)
	clear(ev.dirty)
	cf.evalPool.Put(ev)
}

// readInput takes the submitted values by field position. Unknown keys
// are errors; empty strings count as "no value".
func (e *evaluation) readInput() {
	if len(e.in.Data) >= len(e.cf.Form.Fields)/2 {
		e.readRecord()
	} else {
		e.readPatch()
	}
}

// readRecord reads a whole record: it looks each field up, and searches
// for unknown keys only when some key matched no field.
func (e *evaluation) readRecord() {
	matched := 0
	for i, fd := range e.cf.Form.Fields {
		v, ok := e.in.Data[fd.Key]
		if !ok {
			continue
		}
		matched++
		e.take(i, v)
	}
	if matched < len(e.in.Data) {
		e.extra = true
		for k := range e.in.Data {
			if _, ok := e.cf.pos[k]; !ok {
				e.res.Errors = e.cf.unknownKey(e.res.Errors, k)
			}
		}
	}
}

// readPatch reads a few keys: it looks each key up.
func (e *evaluation) readPatch() {
	for k, v := range e.in.Data {
		i, ok := e.cf.pos[k]
		if !ok {
			e.extra = true
			e.res.Errors = e.cf.unknownKey(e.res.Errors, k)
			continue
		}
		e.take(i, v)
	}
}

// take records the submitted value v of field i.
func (e *evaluation) take(i int, v any) {
	e.present[i] = true
	if s, ok := v.(string); ok && s == "" {
		return
	}
	e.vals[i] = v
}

// applyDefaults fills empty fields that have a default (on create).
func (e *evaluation) applyDefaults() {
	for i, fd := range e.cf.Form.Fields {
		if e.vals[i] == nil && fd.HasDefault && fd.Default != nil {
			e.vals[i], e.dirty[i] = CloneValue(fd.Default), true
		}
	}
}

// fillEnv shows the rules the fields some rule reads (identifiers are
// checked at load and $env is refused): fast rules by position, the
// others in the environment map, with the context when any rule runs on
// the VM.
func (e *evaluation) fillEnv() {
	cf := e.cf
	e.mapRead = cf.vmRead
	needEnv := cf.needEnv
	if cf.allVM {
		e.mapRead, needEnv = cf.read, true
	}
	for _, i := range cf.reads {
		x := cf.zeros[i]
		if e.vals[i] != nil {
			x = envValue(e.vals[i], cf.Form.Fields[i])
		}
		e.setEnv(i, x)
	}
	if needEnv {
		cf.setContext(e.env, e.in)
	}
}

// setEnv shows the rules that read field i the value x.
func (e *evaluation) setEnv(i int, x any) {
	if e.cf.read[i] {
		e.fenv[i] = x
		if e.mapRead[i] {
			e.env[e.cf.Form.Fields[i].Key] = x
		}
	}
}

// clearValue empties field i: rules read its type's zero value.
func (e *evaluation) clearValue(i int) {
	e.vals[i] = nil
	e.setEnv(i, e.cf.zeros[i])
}

// run runs one rule, by its fast form or on the VM; a rule failing at run
// time is an error at ptr, and ok is false.
func (e *evaluation) run(p *exprProgram, ptr string) (any, bool) {
	if p.fast != nil && !e.cf.allVM {
		return p.fast(e.fenv), true
	}
	out, err := e.vm.Run(p.prog, e.env)
	if err != nil {
		e.res.Errors = append(e.res.Errors, FieldError{Field: ptr, Code: "rule", Message: Tf("规则无法计算：%v", "the rule could not be evaluated: %v", err)})
		return nil, false
	}
	return out, true
}

// compute runs the formulas in dependency order; a formula's value is the
// server's, whatever was sent. Given the fields' states (when formulas
// are computed again), a hidden formula stays empty.
func (e *evaluation) compute(states []FieldState) {
	for k := range e.cf.compute {
		fr := &e.cf.compute[k]
		e.vals[fr.pos] = nil
		if states != nil && !states[fr.pos].Visible {
			e.clearValue(fr.pos)
			continue
		}
		v := e.formula(fr)
		if v == nil {
			e.clearValue(fr.pos)
			continue
		}
		e.vals[fr.pos], e.dirty[fr.pos] = v, true
		if e.cf.read[fr.pos] {
			e.setEnv(fr.pos, envValue(v, fr.field))
		}
	}
}

// formula returns the value of fr's formula as stored; nil when a number
// it reads is empty or it fails.
func (e *evaluation) formula(fr *fieldRules) any {
	for _, j := range fr.numberRefs {
		if isEmpty(e.vals[j]) {
			return nil
		}
	}
	out, ok := e.run(fr.comput, fr.ptr)
	if !ok {
		return nil
	}
	return normaliseComputed(out, fr.field)
}

// decideVisible starts every field's state from the form and runs the
// visibility rules.
func (e *evaluation) decideVisible() {
	states := e.res.States
	for i := range states {
		states[i] = FieldState{Visible: true, Required: e.cf.static[i]}
	}
	for _, fr := range e.cf.rules {
		st := &states[fr.pos]
		if fr.visible != nil {
			if out, ok := e.run(fr.visible, fr.ptr); ok {
				st.Visible, _ = out.(bool)
			}
		}
		st.Computed = fr.comput != nil
	}
}

// dropHidden drops hidden fields' values. Formulas must not keep what
// they computed from them: they are computed again, reading them as
// empty, and the stored record's formulas follow from its stored data.
func (e *evaluation) dropHidden() {
	for _, fr := range e.cf.rules {
		if !e.res.States[fr.pos].Visible {
			if e.vals[fr.pos] != nil && e.cf.fread[fr.pos] {
				e.recompute = true
			}
			e.clearValue(fr.pos)
		}
	}
}

// decideRequiredReadonly runs the required and readonly rules of the
// visible fields; a formula is readonly and never required.
func (e *evaluation) decideRequiredReadonly() {
	for _, fr := range e.cf.rules {
		st := &e.res.States[fr.pos]
		if !st.Visible {
			continue
		}
		if fr.required != nil {
			if out, ok := e.run(fr.required, fr.ptr); ok {
				b, _ := out.(bool)
				st.Required = st.Required || b
			}
		}
		if fr.readonly != nil {
			if out, ok := e.run(fr.readonly, fr.ptr); ok {
				st.Readonly, _ = out.(bool)
			}
		}
		if st.Computed {
			st.Readonly = true
			st.Required = false
		}
	}
	for _, i := range e.cf.serials {
		st := &e.res.States[i]
		st.Readonly, st.Required = true, false
	}
}

// keepReadonly keeps what was stored (or the default on create) in each
// visible readonly field that is no formula: nobody edits one, except the
// system (TrustReadonly), which still never changes a serial number.
func (e *evaluation) keepReadonly() {
	if e.in.TrustReadonly {
		for _, i := range e.cf.serials {
			e.keepStored(i)
		}
		return
	}
	for i := range e.cf.Form.Fields {
		if st := e.res.States[i]; !st.Visible || !st.Readonly || st.Computed {
			continue
		}
		e.keepStored(i)
	}
}

// keepStored sets field i back to its stored value (on create: its
// default, or empty).
func (e *evaluation) keepStored(i int) {
	fd := e.cf.Form.Fields[i]
	var keep any
	if e.in.Prev != nil {
		keep = e.in.Prev[fd.Key]
	} else if fd.HasDefault {
		keep = CloneValue(fd.Default)
	}
	switch {
	case keep == nil:
		if e.vals[i] != nil {
			e.recompute = e.recompute || e.cf.fread[i]
			e.clearValue(i)
		}
	case !sameScalar(e.vals[i], keep):
		e.recompute = e.recompute || e.cf.fread[i]
		e.vals[i], e.dirty[i] = keep, true
		if e.cf.read[i] {
			e.setEnv(i, envValue(keep, fd))
		}
	}
}

// checkRequired reports each visible required field left empty.
func (e *evaluation) checkRequired() {
	for i, fd := range e.cf.Form.Fields {
		if st := e.res.States[i]; st.Visible && st.Required && isEmpty(e.vals[i]) {
			e.res.Errors = append(e.res.Errors, FieldError{Field: JSONPointer(fd.Key), Code: "required", Message: fieldWords(fd, "required", T("请填写"+fd.LabelOr().Zh, fd.LabelOr().En+" is required"))})
		}
	}
}

// runChecks runs the cross-field checks, leaving out those that read now
// or today when asked to.
func (e *evaluation) runChecks() {
	for _, ch := range e.cf.checks {
		if e.in.SkipTimeChecks && readsTime(ch.prog) {
			continue
		}
		out, ok := e.run(ch.prog, ch.ptr)
		if !ok {
			continue
		}
		if b, _ := out.(bool); !b {
			ptr := ""
			if len(ch.check.Fields) > 0 {
				ptr = JSONPointer(ch.check.Fields[0])
			}
			e.res.Errors = append(e.res.Errors, FieldError{Field: ptr, Code: "check", Message: ch.check.Message})
		}
	}
}

// result completes the result: the effective data (the submitted map
// itself when the caller gave it away and the submission passed, else a
// new map), the errors in field order, and the field map unless declined.
func (e *evaluation) result() *EvalResult {
	res := e.res
	if e.in.InPlace && e.in.Data != nil && len(res.Errors) == 0 {
		res.Data = e.effectiveInPlace()
	} else {
		res.Data = e.cf.dataOf(e.vals)
	}
	if len(res.Errors) > 1 {
		sortFieldErrors(res.Errors, e.cf.Form)
	}
	if !e.in.NoFieldMap {
		res.Fields = res.FieldMap()
	}
	return res
}

// effectiveInPlace turns the submitted map into the effective data:
// empty, hidden and unknown keys go, computed, defaulted and restored
// values are written; values kept as submitted are not touched.
func (e *evaluation) effectiveInPlace() map[string]any {
	m, fields := e.in.Data, e.cf.Form.Fields
	for i, v := range e.vals {
		switch {
		case v == nil:
			if e.present[i] {
				delete(m, fields[i].Key)
			}
		case e.dirty[i]:
			m[fields[i].Key] = v
		}
	}
	if e.extra {
		for k := range m {
			if _, ok := e.cf.pos[k]; !ok {
				delete(m, k)
			}
		}
	}
	return m
}

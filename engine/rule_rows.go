package engine

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// MaxSubformRows bounds the rows of a subform whose schema sets no
// maxItems: the data schema gets it as maxItems, so a flood of rows is a
// maxItems error like any other and no row rule runs on it.
const MaxSubformRows = 1000

// Subform rows may carry rules on their columns (x-compute, x-visible,
// x-required), evaluated row by row before the form's own rules, so a
// form rule aggregating a column (sum(map(lines, #.total))) reads the
// rows' computed values. A column rule reads the columns of its row and
// user, now and today; a hidden cell's value is dropped, a required one
// left empty is an error at its row (/lines/2/qty).

// subformRules are the column rules of one subform.
type subformRules struct {
	field   *Field
	pos     int          // the subform's position in Form.Fields
	limit   int          // the most rows (maxItems, or MaxSubformRows)
	rules   []fieldRules // columns with any rule, in column order; pos is the column's
	compute []fieldRules // computed columns in dependency order
	colPos  map[string]int
	zeros   []any  // what rules see of an empty cell, by column
	read    []bool // by column: does some rule read it
	fread   []bool // by column: does some formula read it
	needEnv bool   // some rule runs on the VM
}

// rowLimit returns the subform's maxItems, or MaxSubformRows.
func rowLimit(fd *Field) int {
	var s struct {
		MaxItems *float64 `json:"maxItems"`
	}
	if json.Unmarshal(fd.Schema, &s) == nil && s.MaxItems != nil && *s.MaxItems >= 0 && *s.MaxItems < MaxSubformRows {
		return int(*s.MaxItems)
	}
	return MaxSubformRows
}

// limitRows gives every subform of the data schema doc a maxItems of at
// most MaxSubformRows.
func limitRows(doc map[string]any, fields []*Field) {
	props, _ := doc["properties"].(map[string]any)
	for _, fd := range fields {
		ps, _ := props[fd.Key].(map[string]any)
		if ps == nil || !fd.IsSubform() {
			continue
		}
		if n, ok := ps["maxItems"].(float64); !ok || n > MaxSubformRows {
			ps["maxItems"] = float64(MaxSubformRows)
		}
	}
}

// compileRowRules compiles the column rules of subform fd (at position
// pos), or returns nil when it is no subform or its columns have none.
func compileRowRules(fd *Field, pos int, add func(ptr, code string, msg Text)) *subformRules {
	if !fd.IsSubform() {
		return nil
	}
	sr := &subformRules{field: fd, pos: pos, limit: rowLimit(fd), colPos: make(map[string]int, len(fd.Fields))}
	ec := newExprCompiler(typeEnv(fd.Fields))
	computed := map[string]*fieldRules{}
	bad := false
	for i, col := range fd.Fields {
		sr.colPos[col.Key] = i
		sr.zeros = append(sr.zeros, zeroFor(col))
		fr, any := compileFieldRules(ec, col, i, func(ptr, code string, msg Text) { bad = true; add(ptr, code, msg) })
		if !any {
			continue
		}
		sr.rules = append(sr.rules, fr)
		if fr.comput != nil {
			c := fr
			computed[col.Key] = &c
		}
	}
	if len(sr.rules) == 0 || bad {
		return nil
	}
	order, cyc := computeOrder(fd.Fields, computed)
	if cyc != "" {
		add(fd.Sub(cyc).Pointer+"/x-compute", "cycle", Tf("公式循环引用：%s", "formulas refer to each other in a cycle: %s", cyc))
		return nil
	}
	sr.compute = order
	sr.fread = formulaReads(order, sr.colPos, fd.Fields)
	sr.read = make([]bool, len(fd.Fields))
	note := func(p *exprProgram) {
		if p == nil {
			return
		}
		p.fast = compileFastRule(p.prog.Node(), sr.colPos, fd.Fields)
		if p.fast == nil {
			sr.needEnv = true
		}
		for _, r := range p.refs {
			if j, ok := sr.colPos[r]; ok {
				sr.read[j] = true
			}
		}
	}
	for i := range sr.rules {
		note(sr.rules[i].visible)
		note(sr.rules[i].required)
		note(sr.rules[i].comput)
	}
	// the computed order holds copies: they share the programs, fast forms included
	return sr
}

// rowState is the scratch space of one subform's rows in one evaluation.
type rowState struct {
	sr   *subformRules
	fenv []any // what rules see of each cell, by column
	env  map[string]any
	vm   *evaluation
}

// setCell shows the rules the value x of column c.
func (rs *rowState) setCell(c int, x any) {
	if !rs.sr.read[c] {
		return
	}
	rs.fenv[c] = x
	if rs.env != nil {
		rs.env[rs.sr.field.Fields[c].Key] = x
	}
}

// rowResult is what the column rules made of one subform's rows: the new
// rows and the errors to report when the subform itself is kept.
type rowResult struct {
	sr     *subformRules
	rows   []any
	errs   []FieldError
	states []map[string]FieldState
}

// evalRows runs the column rules of every subform on its rows, giving
// each subform new rows (the submitted maps are not changed). Rows past
// the subform's limit are left to the schema's maxItems error.
func (e *evaluation) evalRows() {
	for _, sr := range e.cf.subforms {
		rows, ok := e.vals[sr.pos].([]any)
		if !ok || len(rows) == 0 || len(rows) > sr.limit {
			continue
		}
		rs := &rowState{sr: sr, fenv: make([]any, len(sr.field.Fields)), vm: e}
		if sr.needEnv || e.cf.allVM {
			rs.env = make(map[string]any, len(sr.field.Fields)+len(SystemFields)+3)
			e.cf.setContext(rs.env, e.in)
		}
		rr := rowResult{sr: sr, rows: make([]any, len(rows))}
		if !e.in.NoFieldMap {
			rr.states = make([]map[string]FieldState, len(rows))
		}
		for r, row := range rows {
			m, ok := row.(map[string]any)
			if !ok {
				rr.rows[r] = row // not an object: the schema says so
				continue
			}
			rr.rows[r] = rs.evalRow(&rr, r, m)
		}
		e.vals[sr.pos], e.dirty[sr.pos] = rr.rows, true
		e.rowResults = append(e.rowResults, rr)
	}
}

// evalRow evaluates row r (m) and returns its new map.
func (rs *rowState) evalRow(rr *rowResult, r int, m map[string]any) map[string]any {
	sr := rs.sr
	out := make(map[string]any, len(m)+len(sr.compute))
	for k, v := range m {
		out[k] = v
	}
	for c, col := range sr.field.Fields {
		x := sr.zeros[c]
		if v := out[col.Key]; v != nil {
			x = envValue(v, col)
		}
		rs.setCell(c, x)
	}
	rs.compute(rr, r, out, nil)
	var st map[string]FieldState
	if rr.states != nil {
		st = make(map[string]FieldState, len(sr.rules))
	}
	hidden := map[int]bool(nil)
	recompute := false
	for _, fr := range sr.rules {
		s := FieldState{Visible: true, Computed: fr.comput != nil, Readonly: fr.comput != nil}
		if fr.visible != nil {
			if v, ok := rs.run(rr, r, &fr, fr.visible); ok {
				s.Visible, _ = v.(bool)
			}
		}
		if !s.Visible {
			if hidden == nil {
				hidden = map[int]bool{}
			}
			hidden[fr.pos] = true
			if out[fr.field.Key] != nil && sr.fread[fr.pos] {
				recompute = true
			}
			delete(out, fr.field.Key)
			rs.setCell(fr.pos, sr.zeros[fr.pos])
		}
		if st != nil {
			st[fr.field.Key] = s
		}
	}
	if recompute {
		rs.compute(rr, r, out, hidden)
	}
	for _, fr := range sr.rules {
		if fr.required == nil || hidden[fr.pos] || fr.comput != nil {
			continue
		}
		v, ok := rs.run(rr, r, &fr, fr.required)
		if b, _ := v.(bool); !ok || !b {
			continue
		}
		if st != nil {
			s := st[fr.field.Key]
			s.Required = true
			st[fr.field.Key] = s
		}
		if isEmpty(out[fr.field.Key]) {
			rr.errs = append(rr.errs, FieldError{Field: rowPointer(sr.field, r, fr.field), Code: "required",
				Message: rowText(r, fr.field, "第 %d 行：请填写%s", "Row %d: %s is required")})
		}
	}
	if rr.states != nil {
		rr.states[r] = st
	}
	return out
}

// compute runs the row's formulas in dependency order into out; hidden
// formulas stay empty.
func (rs *rowState) compute(rr *rowResult, r int, out map[string]any, hidden map[int]bool) {
	sr := rs.sr
	for k := range sr.compute {
		fr := &sr.compute[k]
		delete(out, fr.field.Key)
		var v any
		if !hidden[fr.pos] && !emptyRef(out, sr.field.Fields, fr.numberRefs) {
			if x, ok := rs.run(rr, r, fr, fr.comput); ok {
				v = normaliseComputed(x, fr.field)
			}
		}
		if v == nil {
			rs.setCell(fr.pos, sr.zeros[fr.pos])
			continue
		}
		out[fr.field.Key] = v
		rs.setCell(fr.pos, envValue(v, fr.field))
	}
}

// emptyRef reports whether a number column a formula reads is empty in
// the row.
func emptyRef(row map[string]any, cols []*Field, refs []int) bool {
	for _, j := range refs {
		if isEmpty(row[cols[j].Key]) {
			return true
		}
	}
	return false
}

// run runs one column rule on the row; a rule that fails is an error on
// its cell in plain words (what broke is the engine's to log, not staff's
// to read), and ok is false.
func (rs *rowState) run(rr *rowResult, r int, fr *fieldRules, p *exprProgram) (any, bool) {
	if p.fast != nil && !rs.vm.cf.allVM {
		return p.fast(rs.fenv), true
	}
	out, err := rs.vm.vm.Run(p.prog, rs.env)
	if err != nil {
		rr.errs = append(rr.errs, FieldError{Field: rowPointer(rs.sr.field, r, fr.field), Code: "rule",
			Message: rowText(r, fr.field, "第 %d 行：%s无法计算，请检查这一行填写的值", "Row %d: %s could not be worked out; check the values in this row")})
		return nil, false
	}
	return out, true
}

// rowText is a message about column col in row r (counted from 1 for
// people), each language with its own label.
func rowText(r int, col *Field, zh, en string) Text {
	lab := col.LabelOr()
	return Text{Zh: fmt.Sprintf(zh, r+1, lab.Zh), En: fmt.Sprintf(en, r+1, lab.En)}
}

// rowPointer is the JSON pointer of column col in row r of subform fd.
func rowPointer(fd *Field, r int, col *Field) string {
	return JSONPointer(fd.Key) + "/" + strconv.Itoa(r) + JSONPointer(col.Key)
}

// rowErrors adds the errors of the rows' rules for the subforms that are
// shown and keep the rows the rules made (a hidden subform is dropped, a
// readonly one keeps what was stored), and their rows' states.
func (e *evaluation) rowErrors() {
	for _, rr := range e.rowResults {
		pos := rr.sr.pos
		kept, _ := e.vals[pos].([]any)
		if !e.res.States[pos].Visible || len(kept) == 0 || &kept[0] != &rr.rows[0] {
			continue
		}
		e.res.Errors = append(e.res.Errors, rr.errs...)
		if rr.states != nil {
			if e.res.Rows == nil {
				e.res.Rows = map[string][]map[string]FieldState{}
			}
			e.res.Rows[rr.sr.field.Key] = rr.states
		}
	}
}

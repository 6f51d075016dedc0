package engine

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// CompiledForm is a form ready to evaluate: its data schema and rule
// programs, compiled once per published version and cached.
type CompiledForm struct {
	Form   *Form
	schema *jsonschema.Schema // the whole data schema
	fields []fieldSchema      // each top-level field's validation by position; nil: validate the whole
	env    map[string]any     // type environment

	required map[string]bool // the static "required" list

	// by field position, for Evaluate
	pos      map[string]int // field key → position
	zeros    []any          // what rules see for an empty field
	static   []bool         // required by the form's "required" list
	reads    []int          // positions of the fields some rule reads
	read     []bool         // by position: does some rule read the field
	vmRead   []bool         // by position: does some rule run on the VM read the field
	fread    []bool         // by position: does some formula read the field
	needEnv  bool           // some rule runs on the VM (and needs the environment map)
	allVM    bool           // run every rule on the VM (benchmarks compare the two)
	evalPool sync.Pool      // *evalState

	serials  []int           // positions of serial fields: the store numbers them, nobody types one
	rules    []fieldRules    // fields with any rule, in document order
	subforms []*subformRules // subforms whose columns carry rules (rule_rows.go)
	compute  []fieldRules    // computed fields in dependency order
	checks   []checkProgram
}

type fieldRules struct {
	field                               *Field
	pos                                 int    // index in Form.Fields
	numberRefs                          []int  // positions of the number fields a formula reads
	ptr                                 string // JSON pointer of the field in the data
	visible, required, readonly, comput *exprProgram
}

type checkProgram struct {
	check *Check
	prog  *exprProgram
	ptr   string // where a failure to run it is reported
}

// CompileForm compiles a parsed form. On failure it returns an *Error whose
// field errors point into the bundle (using the form's Pointer).
func CompileForm(f *Form) (*CompiledForm, error) {
	var errs []FieldError
	add := func(ptr, code string, msg Text) {
		errs = append(errs, FieldError{Field: ptr, Code: code, Message: msg})
	}
	cf := &CompiledForm{Form: f, env: typeEnv(f.Fields)}

	// The data schema: the form itself with additionalProperties false at
	// every object level (unknown fields are errors) and without the
	// top-level "required" (required is decided by rules at evaluation).
	var doc map[string]any
	if err := json.Unmarshal(f.Raw, &doc); err != nil {
		return nil, Invalid(FieldError{Field: f.Pointer, Code: "invalid", Message: T("表单不是合法的 JSON 对象", "the form is not a JSON object")})
	}
	delete(doc, "required")
	delete(doc, "$schema")
	limitRows(doc, f.Fields)
	closeObjects(doc)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	url := "urn:formwork:form:" + f.Key
	if err := c.AddResource(url, doc); err != nil {
		add(f.Pointer, "schema", Tf("表单模式无效：%v", "invalid form schema: %v", err))
	} else if s, err := c.Compile(url); err != nil {
		add(f.Pointer, "schema", Tf("表单模式无效：%v", "invalid form schema: %v", err))
	} else {
		cf.schema = s
		cf.fields = make([]fieldSchema, len(f.Fields))
		props, _ := doc["properties"].(map[string]any)
		for i, fd := range f.Fields {
			ps, _ := props[fd.Key].(map[string]any)
			sub, err := c.Compile(url + "#/properties/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(fd.Key))
			if err != nil || ps == nil {
				cf.fields = nil // cannot split: validate the whole document
				break
			}
			cf.fields[i] = fieldSchema{fast: compileFast(ps), full: sub}
		}
	}

	ec := newExprCompiler(cf.env)
	computed := map[string]*fieldRules{}
	cf.required = map[string]bool{}
	for _, r := range f.Required {
		cf.required[r] = true
	}
	cf.pos = make(map[string]int, len(f.Fields))
	cf.zeros = make([]any, len(f.Fields))
	cf.static = make([]bool, len(f.Fields))
	for i, fd := range f.Fields {
		cf.pos[fd.Key] = i
		cf.zeros[i] = zeroFor(fd)
		cf.static[i] = cf.required[fd.Key]
		if fd.Widget == WidgetSerial {
			cf.serials = append(cf.serials, i)
		}
	}
	cf.evalPool.New = cf.newEvalState
	for pos, fd := range f.Fields {
		fr, any := compileFieldRules(ec, fd, pos, add)
		if any {
			cf.rules = append(cf.rules, fr)
		}
		if fr.comput != nil {
			frc := fr
			computed[fd.Key] = &frc
		}
	}
	order, cyc := computeOrder(f.Fields, computed)
	if cyc != "" {
		fd := f.Field(cyc)
		add(fd.Pointer+"/x-compute", "cycle", Tf("公式循环引用：%s", "formulas refer to each other in a cycle: %s", cyc))
	}
	cf.fread = formulaReads(order, cf.pos, f.Fields)
	cf.compute = order
	for pos, fd := range f.Fields {
		if sr := compileRowRules(fd, pos, add); sr != nil {
			cf.subforms = append(cf.subforms, sr)
		}
	}
	for i := range f.Checks {
		ch := &f.Checks[i]
		p, err := ec.check(ch.Expr, "boolean")
		if err != nil {
			add(fmt.Sprintf("%s/x-checks/%d/expr", f.Pointer, i), "expr", err.(*exprCompileError).msg)
			continue
		}
		cf.checks = append(cf.checks, checkProgram{check: ch, prog: p, ptr: fmt.Sprintf("/x-checks/%d", i)})
	}
	if len(errs) > 0 {
		return nil, Invalid(errs...)
	}
	cf.collectReads()
	return cf, nil
}

// compileFieldRules compiles the rules of field fd at position pos; any
// reports whether it has one. A rule that does not compile is reported
// through add at its keyword's pointer.
func compileFieldRules(ec *exprCompiler, fd *Field, pos int, add func(ptr, code string, msg Text)) (fr fieldRules, any bool) {
	fr = fieldRules{field: fd, pos: pos, ptr: JSONPointer(fd.Key)}
	comp := func(src, kw, want string) *exprProgram {
		if src == "" {
			return nil
		}
		any = true
		p, err := ec.check(src, want)
		if err != nil {
			add(fd.Pointer+"/"+kw, "expr", err.(*exprCompileError).msg)
			return nil
		}
		return p
	}
	fr.visible = comp(fd.Visible, "x-visible", "boolean")
	fr.required = comp(fd.Required, "x-required", "boolean")
	fr.readonly = comp(fd.Readonly, "x-readonly", "boolean")
	fr.comput = comp(fd.Compute, "x-compute", fd.Type)
	return fr, any
}

// collectReads compiles the fast form of every rule and lists the fields
// some rule or check reads, and those read by rules that run on the VM.
func (cf *CompiledForm) collectReads() {
	read, vmRead := map[string]bool{}, map[string]bool{}
	note := func(p *exprProgram) {
		if p == nil {
			return
		}
		p.fast = compileFastRule(p.prog.Node(), cf.pos, cf.Form.Fields)
		if p.fast == nil {
			cf.needEnv = true
		}
		for _, r := range p.refs {
			read[r] = true
			if p.fast == nil {
				vmRead[r] = true
			}
		}
	}
	for _, fr := range cf.rules {
		note(fr.visible)
		note(fr.required)
		note(fr.readonly)
		note(fr.comput)
	}
	for _, ch := range cf.checks {
		note(ch.prog)
	}
	cf.read = make([]bool, len(cf.Form.Fields))
	cf.vmRead = make([]bool, len(cf.Form.Fields))
	for i, fd := range cf.Form.Fields {
		if read[fd.Key] {
			cf.reads = append(cf.reads, i)
			cf.read[i] = true
		}
		cf.vmRead[i] = vmRead[fd.Key]
	}
}

// formulaReads notes in each formula of order the positions of the number
// fields it reads (a formula over an empty number is empty) and returns,
// by position, whether some formula reads the field.
func formulaReads(order []fieldRules, pos map[string]int, fields []*Field) []bool {
	fread := make([]bool, len(fields))
	for i := range order {
		for _, r := range order[i].comput.refs {
			j, ok := pos[r]
			if !ok {
				continue
			}
			fread[j] = true
			if fields[j].Type == "number" || fields[j].Type == "integer" {
				order[i].numberRefs = append(order[i].numberRefs, j)
			}
		}
	}
	return fread
}

// closeObjects sets additionalProperties false on every object schema with
// properties, recursively through properties and items.
func closeObjects(s map[string]any) {
	if props, ok := s["properties"].(map[string]any); ok {
		if _, set := s["additionalProperties"]; !set {
			s["additionalProperties"] = false
		}
		for _, p := range props {
			if ps, ok := p.(map[string]any); ok {
				closeObjects(ps)
			}
		}
	}
	if it, ok := s["items"].(map[string]any); ok {
		closeObjects(it)
	}
}

// computeOrder sorts computed fields so each comes after the computed
// fields it reads; it returns the key of a field in a cycle, if any.
func computeOrder(fields []*Field, computed map[string]*fieldRules) ([]fieldRules, string) {
	const (
		white = iota
		grey
		black
	)
	state := map[string]int{}
	var order []fieldRules
	var cycle string
	var visit func(k string)
	visit = func(k string) {
		if cycle != "" {
			return
		}
		switch state[k] {
		case grey:
			cycle = k
			return
		case black:
			return
		}
		state[k] = grey
		refs := append([]string(nil), computed[k].comput.refs...)
		sort.Strings(refs)
		for _, r := range refs {
			if _, ok := computed[r]; ok {
				visit(r)
			}
		}
		state[k] = black
		order = append(order, *computed[k])
	}
	for _, fd := range fields {
		if _, ok := computed[fd.Key]; ok {
			visit(fd.Key)
		}
	}
	return order, cycle
}

package engine

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// CompiledForm is a form ready to evaluate: its data schema and rule
// programs, compiled once per published version and cached.
type CompiledForm struct {
	Form   *Form
	schema *jsonschema.Schema
	env    map[string]any // type environment

	zeroEnv  map[string]any  // the run-time environment of an empty record
	required map[string]bool // the static "required" list

	rules   []fieldRules // fields with any rule, in document order
	compute []fieldRules // computed fields in dependency order
	checks  []checkProgram
	nfields int
}

type fieldRules struct {
	field                               *Field
	pos                                 int    // index in Form.Fields
	ptr                                 string // JSON pointer of the field in the data
	visible, required, readonly, comput *exprProgram
}

type checkProgram struct {
	check *Check
	prog  *exprProgram
}

// CompileForm compiles a parsed form. On failure it returns an *Error whose
// field errors point into the bundle (using the form's Pointer).
func CompileForm(f *Form) (*CompiledForm, error) {
	var errs []FieldError
	add := func(ptr, code string, msg Text) {
		errs = append(errs, FieldError{Field: ptr, Code: code, Message: msg})
	}
	cf := &CompiledForm{Form: f, env: typeEnv(f.Fields), nfields: len(f.Fields)}

	// The data schema: the form itself with additionalProperties false at
	// every object level (unknown fields are errors) and without the
	// top-level "required" (required is decided by rules at evaluation).
	var doc map[string]any
	if err := json.Unmarshal(f.Raw, &doc); err != nil {
		return nil, Invalid(FieldError{Field: f.Pointer, Code: "invalid", Message: T("表单不是合法的 JSON 对象", "the form is not a JSON object")})
	}
	delete(doc, "required")
	delete(doc, "$schema")
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
	}

	ec := newExprCompiler(cf.env)
	computed := map[string]*fieldRules{}
	cf.required = map[string]bool{}
	for _, r := range f.Required {
		cf.required[r] = true
	}
	cf.zeroEnv = zeroEnvFor(f.Fields)
	for pos, fd := range f.Fields {
		fr := fieldRules{field: fd, pos: pos, ptr: JSONPointer(fd.Key)}
		any := false
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
	cf.compute = order
	for i := range f.Checks {
		ch := &f.Checks[i]
		p, err := ec.check(ch.Expr, "boolean")
		if err != nil {
			add(fmt.Sprintf("%s/x-checks/%d/expr", f.Pointer, i), "expr", err.(*exprCompileError).msg)
			continue
		}
		cf.checks = append(cf.checks, checkProgram{check: ch, prog: p})
	}
	if len(errs) > 0 {
		return nil, Invalid(errs...)
	}
	return cf, nil
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

// zeroEnvFor is the run-time environment of an empty record.
func zeroEnvFor(fields []*Field) map[string]any {
	env := make(map[string]any, len(fields)+len(SystemFields)+3)
	for _, fd := range fields {
		env[fd.Key] = zeroFor(fd)
	}
	for _, s := range SystemFields {
		env[s] = ""
	}
	env["_version"] = 0
	return env
}

package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"formwork/engine"
)

// clock is the fixed "now" the rules are evaluated at, so the test does not
// depend on the day it runs.
var clock = time.Date(2026, 11, 23, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

var keyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// bundle is the loose view of a template the checks below need.
type bundle struct {
	Formwork  string                      `json:"formwork"`
	App       map[string]any              `json:"app"`
	Roles     []map[string]any            `json:"roles"`
	Forms     []map[string]any            `json:"forms"`
	Workflows []map[string]any            `json:"workflows"`
	Sample    map[string][]map[string]any `json:"sample_data"`
}

// field is one field of a form (or of a subform row) with its raw schema.
type field struct {
	key    string
	raw    map[string]any
	typ    string
	widget string
	sub    []*field // subform columns
}

type form struct {
	key    string
	raw    map[string]any
	fields []*field
	byKey  map[string]*field
}

func loadTemplate(tb testing.TB, name string) (*bundle, []byte) {
	tb.Helper()
	data, err := Get(name)
	if err != nil {
		tb.Fatalf("Get(%q): %v", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b bundle
	if err := dec.Decode(&b); err != nil {
		tb.Fatalf("%s: not a valid bundle document: %v", name, err)
	}
	return &b, data
}

// orderedFields reads a "properties" object at ptr keeping its document
// order (from order), which is the order formulas are computed in.
func orderedFields(raw map[string]any, order map[string][]string, ptr string) []*field {
	var out []*field
	for _, k := range order[ptr] {
		fr, _ := raw[k].(map[string]any)
		f := &field{key: k, raw: fr}
		f.typ, _ = fr["type"].(string)
		f.widget, _ = fr["x-widget"].(string)
		if f.widget == "subform" {
			items, _ := fr["items"].(map[string]any)
			sp, _ := items["properties"].(map[string]any)
			f.sub = orderedFields(sp, order, ptr+"/"+k+"/items/properties")
		}
		out = append(out, f)
	}
	return out
}

// propertyOrder scans a JSON document and returns, for every "properties"
// object, its keys in document order, keyed by the object's JSON pointer.
func propertyOrder(tb testing.TB, doc []byte) map[string][]string {
	tb.Helper()
	out := map[string][]string{}
	var walk func(dec *json.Decoder, ptr string)
	walk = func(dec *json.Decoder, ptr string) {
		t, err := dec.Token()
		if err != nil {
			tb.Fatal(err)
		}
		switch t {
		case json.Delim('{'):
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					tb.Fatal(err)
				}
				k := kt.(string)
				if strings.HasSuffix(ptr, "/properties") {
					out[ptr] = append(out[ptr], k)
				}
				walk(dec, ptr+"/"+k)
			}
			_, _ = dec.Token()
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				walk(dec, fmt.Sprintf("%s/%d", ptr, i))
			}
			_, _ = dec.Token()
		}
	}
	walk(json.NewDecoder(bytes.NewReader(doc)), "")
	return out
}

func parseForms(tb testing.TB, b *bundle, doc []byte) []*form {
	tb.Helper()
	order := propertyOrder(tb, doc)
	var out []*form
	for i, raw := range b.Forms {
		f := &form{raw: raw, byKey: map[string]*field{}}
		f.key, _ = raw["x-key"].(string)
		props, _ := raw["properties"].(map[string]any)
		ptr := fmt.Sprintf("/forms/%d/properties", i)
		f.fields = orderedFields(props, order, ptr)
		if len(f.fields) != len(props) {
			tb.Fatalf("form %s: read %d of %d fields", f.key, len(f.fields), len(props))
		}
		for _, fl := range f.fields {
			f.byKey[fl.key] = fl
		}
		out = append(out, f)
	}
	return out
}

// isBilingual reports whether v is {"zh": non-empty, "en": non-empty}.
func isBilingual(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 2 {
		return false
	}
	zh, _ := m["zh"].(string)
	en, _ := m["en"].(string)
	return zh != "" && en != ""
}

// zeroOf is the compile-time type of a field in rules.
func zeroOf(typ string) any {
	switch typ {
	case "string":
		return ""
	case "number":
		return 0.0
	case "integer":
		return 0
	case "boolean":
		return false
	case "array":
		return []any{}
	default:
		return map[string]any{}
	}
}

// emptyAs says what rules see for an empty field: nil (as FORMAT.md's
// rules are written for) or the type's zero value (as the engine's
// evaluator does). Every rule must work both ways.
type emptyAs int

const (
	emptyNil emptyAs = iota
	emptyZero
)

func (e emptyAs) String() string { return [...]string{"nil", "zero"}[e] }

func ruleEnv(fields []*field, values map[string]any, typed bool, empty emptyAs) map[string]any {
	env := map[string]any{
		"user":  map[string]any{"id": "", "unit": "", "roles": []any{}},
		"now":   clock,
		"today": clock.Format("2006-01-02"),
		"_id":   nil, "_unit": nil, "_owner": nil, "_status": nil, "_created_at": nil, "_updated_at": nil, "_version": nil,
	}
	if typed {
		env["user"] = map[string]any{"id": "u1", "unit": "store_1", "roles": []any{"sales_rep"}}
		for _, k := range []string{"_id", "_unit", "_owner", "_status", "_created_at", "_updated_at"} {
			env[k] = ""
		}
		env["_version"] = 0
		env["today"] = ""
	}
	for _, f := range fields {
		if typed {
			env[f.key] = zeroOf(f.typ)
			continue
		}
		v, ok := values[f.key]
		if !ok || v == nil {
			env[f.key] = nil
			if empty == emptyZero {
				env[f.key] = zeroOf(f.typ)
			}
			continue
		}
		if f.typ == "integer" {
			if n, ok := v.(float64); ok {
				v = int(n)
			}
		}
		env[f.key] = v
	}
	return env
}

type rules struct {
	visible, required, readonly, compute map[string]*vm.Program
	sub                                  map[string]*rules
	checks                               []*vm.Program
}

func compileRules(t *testing.T, where string, fields []*field, checks []any) *rules {
	t.Helper()
	env := ruleEnv(fields, nil, true, emptyNil)
	r := &rules{visible: map[string]*vm.Program{}, required: map[string]*vm.Program{}, readonly: map[string]*vm.Program{},
		compute: map[string]*vm.Program{}, sub: map[string]*rules{}}
	comp := func(what, src string, boolean bool) *vm.Program {
		opts := []expr.Option{expr.Env(env)}
		if boolean {
			opts = append(opts, expr.AsBool())
		}
		p, err := expr.Compile(src, opts...)
		if err != nil {
			t.Errorf("%s %s: %q does not compile: %v", where, what, src, err)
			return nil
		}
		return p
	}
	for _, f := range fields {
		for kw, m := range map[string]map[string]*vm.Program{"x-visible": r.visible, "x-required": r.required, "x-readonly": r.readonly} {
			if src, ok := f.raw[kw].(string); ok {
				if p := comp(f.key+" "+kw, src, true); p != nil {
					m[f.key] = p
				}
			}
		}
		if src, ok := f.raw["x-compute"].(string); ok {
			if f.widget != "formula" {
				t.Errorf("%s %s: x-compute on a %s widget", where, f.key, f.widget)
			}
			if p := comp(f.key+" x-compute", src, false); p != nil {
				r.compute[f.key] = p
			}
		} else if f.widget == "formula" {
			t.Errorf("%s %s: formula widget without x-compute", where, f.key)
		}
		if f.sub != nil {
			r.sub[f.key] = compileRules(t, where+" "+f.key+"[]", f.sub, nil)
		}
	}
	for i, c := range checks {
		cm := c.(map[string]any)
		if !isBilingual(cm["message"]) {
			t.Errorf("%s x-checks[%d]: message is not bilingual", where, i)
		}
		r.checks = append(r.checks, comp(fmt.Sprintf("x-checks[%d]", i), cm["expr"].(string), true))
	}
	return r
}

func runBool(p *vm.Program, env map[string]any) (bool, error) {
	out, err := expr.Run(p, env)
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}

// evaluate computes the formulas of rec (in field order, subform rows
// first) and returns the problems it finds with the rules: hidden fields
// that carry a value, required-if fields that are missing, failing checks.
func evaluate(fields []*field, r *rules, rec map[string]any, empty emptyAs) []string {
	var problems []string
	for _, f := range fields {
		if f.sub == nil || rec[f.key] == nil {
			continue
		}
		for i, row := range rec[f.key].([]any) {
			rm := row.(map[string]any)
			for _, p := range evaluate(f.sub, r.sub[f.key], rm, empty) {
				problems = append(problems, fmt.Sprintf("%s[%d].%s", f.key, i, p))
			}
		}
	}
	for _, f := range fields {
		p := r.compute[f.key]
		if p == nil {
			continue
		}
		out, err := expr.Run(p, ruleEnv(fields, rec, false, empty))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: formula fails: %v", f.key, err))
			continue
		}
		if out == nil {
			delete(rec, f.key)
			continue
		}
		rec[f.key] = normalise(out)
	}
	env := ruleEnv(fields, rec, false, empty)
	for _, f := range fields {
		if p := r.visible[f.key]; p != nil {
			vis, err := runBool(p, env)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: x-visible fails: %v", f.key, err))
			}
			if !vis && rec[f.key] != nil && f.widget != "formula" {
				problems = append(problems, fmt.Sprintf("%s: has a value but is hidden", f.key))
			}
			if !vis {
				continue
			}
		}
		if p := r.readonly[f.key]; p != nil {
			if _, err := runBool(p, env); err != nil {
				problems = append(problems, fmt.Sprintf("%s: x-readonly fails: %v", f.key, err))
			}
		}
		if p := r.required[f.key]; p != nil {
			req, err := runBool(p, env)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: x-required fails: %v", f.key, err))
			}
			if req && (rec[f.key] == nil || rec[f.key] == "") {
				problems = append(problems, fmt.Sprintf("%s: required here but missing", f.key))
			}
		}
	}
	for i, p := range r.checks {
		if p == nil {
			continue
		}
		ok, err := runBool(p, env)
		if err != nil || !ok {
			problems = append(problems, fmt.Sprintf("x-checks[%d] fails (%v)", i, err))
		}
	}
	return problems
}

// normalise turns a formula result into what JSON decoding would give.
func normalise(v any) any {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case float64:
		return n
	}
	return v
}

func compileFormSchema(t *testing.T, name string, raw map[string]any) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	url := "urn:template:" + name + ":" + raw["x-key"].(string)
	if err := c.AddResource(url, raw); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("%s: not a valid JSON Schema: %v", url, err)
	}
	return s
}

func metaSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for _, n := range engine.MetaSchemaNames {
		b, err := engine.MetaSchema(n)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource("urn:formwork:schema:"+n, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("urn:formwork:schema:bundle")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNames(t *testing.T) {
	if diff := cmp.Diff([]string{"crm", "dealership"}, Names()); diff != "" {
		t.Errorf("Names() (-want +got):\n%s", diff)
	}
	if _, err := Get("nope"); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("Get(nope) = %v, want %s", err, engine.ENOTFOUND)
	}
	if _, err := Get("../go.mod"); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("Get(../go.mod) = %v, want %s", err, engine.ENOTFOUND)
	}
}

func TestInfo(t *testing.T) {
	type counts struct {
		Key                     string
		Forms, Roles, Workflows int
		AtLeastSample           bool
	}
	for _, tc := range []struct {
		name string
		want counts
	}{
		{"crm", counts{"crm", 7, 5, 3, true}},
		{"dealership", counts{"dealership", 12, 7, 4, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := GetInfo(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			got := counts{info.Key, len(info.Forms), len(info.Roles), len(info.Workflows), info.SampleRecords >= 20*len(info.Forms)}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("GetInfo(%s) (-want +got):\n%s", tc.name, diff)
			}
			if info.Title.Zh == "" || info.Title.En == "" || info.Version == "" {
				t.Errorf("GetInfo(%s): title %+v version %q", tc.name, info.Title, info.Version)
			}
		})
	}
}

func TestTemplates(t *testing.T) {
	meta := metaSchema(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			b, doc := loadTemplate(t, name)
			var inst any
			if err := json.Unmarshal(doc, &inst); err != nil {
				t.Fatal(err)
			}
			if err := meta.Validate(inst); err != nil {
				t.Errorf("the bundle fails the engine's meta-schema: %v", err)
			}
			forms := parseForms(t, b, doc)
			t.Run("definitions", func(t *testing.T) { checkDefinitions(t, b, forms) })
			t.Run("roles", func(t *testing.T) { checkRoles(t, b, forms) })
			t.Run("workflows", func(t *testing.T) { checkWorkflows(t, b, forms) })
			t.Run("sample_data", func(t *testing.T) { checkSamples(t, name, b, forms) })
		})
	}
}

var personal = map[string]string{"phone": "phone", "id_number": "id_number", "email": "email", "address": "address"}

func checkDefinitions(t *testing.T, b *bundle, forms []*form) {
	if k, _ := b.App["key"].(string); !keyRE.MatchString(k) || !isBilingual(b.App["name"]) {
		t.Errorf("app: key %q or name %v", k, b.App["name"])
	}
	byKey := map[string]*form{}
	for _, f := range forms {
		if !keyRE.MatchString(f.key) || byKey[f.key] != nil {
			t.Errorf("form key %q is invalid or repeated", f.key)
		}
		byKey[f.key] = f
	}
	for _, f := range forms {
		if !isBilingual(f.raw["x-title"]) {
			t.Errorf("%s: x-title is not bilingual", f.key)
		}
		checkFields(t, f.key, f.fields, byKey)
		for _, r := range f.raw["required"].([]any) {
			if f.byKey[r.(string)] == nil {
				t.Errorf("%s: required %q is not a field", f.key, r)
			}
		}
		// every field appears in exactly one layout section
		seen := map[string]int{}
		layout, _ := f.raw["x-layout"].([]any)
		if len(layout) == 0 {
			t.Errorf("%s: no x-layout", f.key)
		}
		for i, s := range layout {
			sec := s.(map[string]any)
			if title, ok := sec["title"]; ok && !isBilingual(title) {
				t.Errorf("%s: x-layout[%d] title is not bilingual", f.key, i)
			}
			for _, k := range sec["fields"].([]any) {
				seen[k.(string)]++
			}
		}
		for _, fl := range f.fields {
			if seen[fl.key] != 1 {
				t.Errorf("%s: field %s is in %d layout sections, want 1", f.key, fl.key, seen[fl.key])
			}
			delete(seen, fl.key)
		}
		for k := range seen {
			t.Errorf("%s: layout names unknown field %s", f.key, k)
		}
		indexed := 0
		for _, fl := range f.fields {
			if fl.raw["x-index"] == true {
				indexed++
			}
		}
		if indexed == 0 {
			t.Errorf("%s: no x-index field", f.key)
		}
		checks, _ := f.raw["x-checks"].([]any)
		r := compileRules(t, f.key, f.fields, checks)
		// A new, empty record has every field nil: no rule may fail to
		// run on it (a check may say no, but not crash).
		for _, empty := range []emptyAs{emptyNil, emptyZero} {
			for _, p := range evaluate(f.fields, r, map[string]any{}, empty) {
				if strings.Contains(p, " fails: ") || (strings.Contains(p, "x-checks") && !strings.HasSuffix(p, "(<nil>)")) {
					t.Errorf("%s on an empty record (empty fields %s): %s", f.key, empty, p)
				}
			}
		}
	}
}

func checkFields(t *testing.T, where string, fields []*field, forms map[string]*form) {
	t.Helper()
	for _, fl := range fields {
		at := where + "." + fl.key
		if !keyRE.MatchString(fl.key) {
			t.Errorf("%s: key does not match %s", at, keyRE)
		}
		if fl.widget == "" {
			t.Errorf("%s: no x-widget", at)
		}
		if !isBilingual(fl.raw["x-label"]) {
			t.Errorf("%s: x-label is not bilingual", at)
		}
		if want, ok := personal[fl.widget]; ok && fl.raw["x-sensitive"] != want {
			t.Errorf("%s: a %s widget without x-sensitive %q", at, fl.widget, want)
		}
		if fl.key == "name" && strings.Contains(where, "customer") && fl.raw["x-sensitive"] == nil {
			t.Errorf("%s: a customer's name must be x-sensitive", at)
		}
		// options: one bilingual label per enum value, nothing else
		enum, _ := fl.raw["enum"].([]any)
		if items, ok := fl.raw["items"].(map[string]any); ok && enum == nil {
			enum, _ = items["enum"].([]any)
		}
		opts, hasOpts := fl.raw["x-options"].(map[string]any)
		if (enum != nil) != hasOpts {
			t.Errorf("%s: enum and x-options must come together", at)
		}
		if hasOpts {
			var want, got []string
			for _, v := range enum {
				want = append(want, fmt.Sprint(v))
			}
			for k, lab := range opts {
				got = append(got, k)
				if !isBilingual(lab) {
					t.Errorf("%s: option %s is not bilingual", at, k)
				}
			}
			sort.Strings(want)
			sort.Strings(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: x-options keys (-enum +options):\n%s", at, diff)
			}
		}
		if fl.widget == "relation" {
			rel, _ := fl.raw["x-relation"].(map[string]any)
			target := forms[fmt.Sprint(rel["form"])]
			if target == nil {
				t.Errorf("%s: relation to unknown form %v", at, rel["form"])
			} else if target.byKey[fmt.Sprint(rel["display"])] == nil {
				t.Errorf("%s: relation displays unknown field %v of %s", at, rel["display"], target.key)
			}
		}
		if fl.sub != nil {
			checkFields(t, at, fl.sub, forms)
		}
	}
}

var (
	operations = map[string]bool{"create": true, "read": true, "update": true, "delete": true, "export": true, "import": true, "print": true}
	scopes     = map[string]bool{"own": true, "unit": true, "unit_and_below": true, "all": true}
	fieldPerms = map[string]bool{"edit": true, "read": true, "masked": true, "hidden": true}
)

func formsByKey(forms []*form) map[string]*form {
	m := map[string]*form{}
	for _, f := range forms {
		m[f.key] = f
	}
	return m
}

func checkRoles(t *testing.T, b *bundle, forms []*form) {
	fk := formsByKey(forms)
	seen := map[string]bool{}
	for _, r := range b.Roles {
		key, _ := r["key"].(string)
		if !keyRE.MatchString(key) || seen[key] {
			t.Errorf("role key %q is invalid or repeated", key)
		}
		seen[key] = true
		if !isBilingual(r["name"]) {
			t.Errorf("role %s: name is not bilingual", key)
		}
		for form, p := range r["permissions"].(map[string]any) {
			f := fk[form]
			if f == nil {
				t.Errorf("role %s: unknown form %s", key, form)
				continue
			}
			pm := p.(map[string]any)
			for _, op := range pm["operations"].([]any) {
				if !operations[op.(string)] {
					t.Errorf("role %s/%s: unknown operation %v", key, form, op)
				}
			}
			if s, ok := pm["scope"].(string); !ok || !scopes[s] {
				t.Errorf("role %s/%s: scope %v", key, form, pm["scope"])
			}
			for fld, perm := range pm["fields"].(map[string]any) {
				if fld != "*" && f.byKey[fld] == nil {
					t.Errorf("role %s/%s: unknown field %s", key, form, fld)
				}
				if !fieldPerms[perm.(string)] {
					t.Errorf("role %s/%s: field %s has permission %v", key, form, fld, perm)
				}
				if perm == "masked" && fld != "*" && f.byKey[fld].raw["x-sensitive"] == nil {
					t.Errorf("role %s/%s: %s is masked but not x-sensitive, so it has no mask", key, form, fld)
				}
			}
		}
	}
}

func checkWorkflows(t *testing.T, b *bundle, forms []*form) {
	fk := formsByKey(forms)
	roles := map[string]bool{}
	for _, r := range b.Roles {
		roles[r["key"].(string)] = true
	}
	seen := map[string]bool{}
	for _, w := range b.Workflows {
		key, _ := w["key"].(string)
		if !keyRE.MatchString(key) || seen[key] {
			t.Errorf("workflow key %q is invalid or repeated", key)
		}
		seen[key] = true
		if !isBilingual(w["name"]) {
			t.Errorf("workflow %s: name is not bilingual", key)
		}
		f := fk[fmt.Sprint(w["form"])]
		if f == nil {
			t.Errorf("workflow %s: unknown form %v", key, w["form"])
			continue
		}
		env := ruleEnv(f.fields, nil, true, emptyNil)
		compile := func(where, src string, opts ...expr.Option) {
			if _, err := expr.Compile(src, append([]expr.Option{expr.Env(env)}, opts...)...); err != nil {
				t.Errorf("workflow %s %s: %q does not compile: %v", key, where, src, err)
			}
		}
		if trig, ok := w["trigger"].(map[string]any); ok {
			if when, ok := trig["when"].(string); ok {
				compile("trigger", when, expr.AsBool())
			}
		}
		nodeKeys := map[string]bool{}
		var assignees func(where string, a map[string]any)
		assignees = func(where string, a map[string]any) {
			if rs, ok := a["roles"].([]any); ok {
				for _, r := range rs {
					if !roles[r.(string)] {
						t.Errorf("workflow %s %s: unknown role %v", key, where, r)
					}
				}
			}
			if fl, ok := a["field"].(string); ok {
				if f.byKey[fl] == nil || f.byKey[fl].widget != "member" {
					t.Errorf("workflow %s %s: %s is not a member field", key, where, fl)
				}
			}
		}
		var walk func(nodes []any)
		walk = func(nodes []any) {
			for _, n := range nodes {
				node := n.(map[string]any)
				nk, _ := node["key"].(string)
				if !keyRE.MatchString(nk) || nodeKeys[nk] {
					t.Errorf("workflow %s: node key %q is invalid or repeated", key, nk)
				}
				nodeKeys[nk] = true
				if name, ok := node["name"]; ok && !isBilingual(name) {
					t.Errorf("workflow %s/%s: name is not bilingual", key, nk)
				}
				switch node["type"] {
				case "approval":
					if !isBilingual(node["name"]) {
						t.Errorf("workflow %s/%s: an approval needs a bilingual name", key, nk)
					}
					assignees(nk, node["assignees"].(map[string]any))
					if to, ok := node["timeout"].(map[string]any); ok {
						if esc, ok := to["to"].(map[string]any); ok {
							assignees(nk+" timeout", esc)
						}
					}
					for fl := range mapOf(node["fields"]) {
						if fl != "*" && f.byKey[fl] == nil {
							t.Errorf("workflow %s/%s: unknown field %s", key, nk, fl)
						}
					}
				case "cc":
					assignees(nk, node["to"].(map[string]any))
				case "action":
					for fl, src := range mapOf(node["set"]) {
						if f.byKey[fl] == nil {
							t.Errorf("workflow %s/%s: sets unknown field %s", key, nk, fl)
						}
						compile(nk+" set "+fl, src.(string))
					}
				case "condition", "parallel":
					for _, br := range node["branches"].([]any) {
						bm := br.(map[string]any)
						if when, ok := bm["when"].(string); ok {
							compile(nk+" branch", when, expr.AsBool())
						}
						walk(bm["nodes"].([]any))
					}
				case "end":
				default:
					t.Errorf("workflow %s/%s: unknown node type %v", key, nk, node["type"])
				}
			}
		}
		walk(w["nodes"].([]any))
	}
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func checkSamples(t *testing.T, name string, b *bundle, forms []*form) {
	fk := formsByKey(forms)
	for _, f := range forms {
		if n := len(b.Sample[f.key]); n < 20 {
			t.Errorf("%s: %d sample records, want at least 20", f.key, n)
		}
	}
	for formKey, recs := range b.Sample {
		f := fk[formKey]
		if f == nil {
			t.Errorf("sample_data for unknown form %s", formKey)
			continue
		}
		schema := compileFormSchema(t, name, f.raw)
		checks, _ := f.raw["x-checks"].([]any)
		r := compileRules(t, formKey, f.fields, checks)
		for i, rec := range recs {
			at := fmt.Sprintf("%s[%d]", formKey, i)
			for k, v := range rec {
				fl := f.byKey[k]
				switch {
				case fl == nil:
					t.Errorf("%s: unknown field %s", at, k)
				case fl.widget == "formula":
					t.Errorf("%s: carries formula field %s (computed by the server)", at, k)
				case fl.sub != nil:
					for j, row := range v.([]any) {
						for rk := range row.(map[string]any) {
							if !hasField(fl.sub, rk) {
								t.Errorf("%s.%s[%d]: unknown column %s", at, k, j, rk)
							}
						}
					}
				}
			}
			if err := schema.Validate(deepCopy(t, rec)); err != nil {
				t.Errorf("%s: fails its form's schema: %v", at, err)
			}
			for _, empty := range []emptyAs{emptyNil, emptyZero} {
				// an import creates the record: defaults first, then the rules
				created := withDefaults(f, deepCopy(t, rec))
				for _, p := range evaluate(f.fields, r, created, empty) {
					if k, ok := strings.CutSuffix(p, ": has a value but is hidden"); ok && rec[k] == nil {
						continue // a default the engine drops, not a value the sample gives
					}
					t.Errorf("%s (empty fields %s): %s", at, empty, p)
				}
				// with its formulas filled in, the record still fits the schema
				if err := schema.Validate(created); err != nil {
					t.Errorf("%s: computed record fails its form's schema: %v", at, err)
				}
			}
		}
	}
}

// withDefaults fills the defaults of the fields rec leaves out, as creating
// a record does.
func withDefaults(f *form, rec map[string]any) map[string]any {
	for _, fl := range f.fields {
		if d, ok := fl.raw["default"]; ok {
			if _, set := rec[fl.key]; !set {
				rec[fl.key] = d
			}
		}
	}
	return rec
}

func hasField(fields []*field, key string) bool {
	for _, f := range fields {
		if f.key == key {
			return true
		}
	}
	return false
}

func deepCopy(tb testing.TB, v map[string]any) map[string]any {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestRuleExpressions pins the hand-written rules that are easy to get
// subtly wrong: the VIN and ID-number check digits and the money formulas.
func TestRuleExpressions(t *testing.T) {
	b, doc := loadTemplate(t, "dealership")
	forms := formsByKey(parseForms(t, b, doc))
	vehicle := forms["vehicle"]
	vinCheck := compileRules(t, "vehicle", vehicle.fields, vehicle.raw["x-checks"].([]any)[:1])
	customer := forms["customer"]
	idCheck := compileRules(t, "customer", customer.fields, customer.raw["x-checks"].([]any)[:1])
	order := forms["sales_order"]
	orderRules := compileRules(t, "sales_order", order.fields, order.raw["x-checks"].([]any))
	visit := forms["followup_visit"]
	visitRules := compileRules(t, "followup_visit", visit.fields, nil)

	for _, tc := range []struct {
		name string
		rec  map[string]any
		f    *form
		r    *rules
		want []string
	}{
		{"vin valid (check digit X)", map[string]any{"vin": "1M8GDM9AXKP042788"}, vehicle, vinCheck, nil},
		{"vin valid (all ones)", map[string]any{"vin": "11111111111111111"}, vehicle, vinCheck, nil},
		{"vin wrong check digit", map[string]any{"vin": "1M8GDM9A1KP042788"}, vehicle, vinCheck, []string{"x-checks[0] fails (<nil>)"}},
		{"vin missing is left to required", map[string]any{}, vehicle, vinCheck, nil},
		{"id number valid", map[string]any{"customer_type": "individual", "id_number": "11010519491231002X"}, customer, idCheck, nil},
		{"id number wrong check digit", map[string]any{"customer_type": "individual", "id_number": "110105194912310021"}, customer, idCheck,
			[]string{"x-checks[0] fails (<nil>)"}},
		{"order: loan fields required when paying by loan", map[string]any{"list_price": 200000.0, "discount_amount": 20000.0, "payment_method": "loan"},
			order, orderRules, []string{"down_payment: required here but missing", "loan_bank: required here but missing", "loan_term: required here but missing"}},
		{"order: loan fields hidden when paying in full", map[string]any{"list_price": 200000.0, "payment_method": "full", "loan_bank": "icbc"},
			order, orderRules, []string{"loan_bank: has a value but is hidden"}},
		{"order: deposit above the final price", map[string]any{"list_price": 100000.0, "discount_amount": 10000.0, "deposit": 95000.0, "payment_method": "full"},
			order, orderRules, []string{"x-checks[1] fails (<nil>)"}},
		{"visit: complaint required at 2", map[string]any{"reached": true, "satisfaction": 2.0}, visit, visitRules,
			[]string{"complaint: required here but missing", "complaint_category: required here but missing"}},
		{"visit: complaint hidden at 3", map[string]any{"reached": true, "satisfaction": 3.0, "complaint": "x"}, visit, visitRules,
			[]string{"complaint: has a value but is hidden"}},
	} {
		for _, empty := range []emptyAs{emptyNil, emptyZero} {
			t.Run(tc.name+"/empty_"+empty.String(), func(t *testing.T) {
				got := evaluate(tc.f.fields, tc.r, deepCopy(t, tc.rec), empty)
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
			})
		}
	}

	t.Run("order formulas", func(t *testing.T) {
		rec := map[string]any{"list_price": 200000.0, "discount_amount": 20000.0, "payment_method": "loan", "down_payment": 60000.0,
			"loan_bank": "icbc", "loan_term": 36.0, "insurance": true, "insurer": "insurer_a", "insurance_premium": 5000.0, "registration_fee": 800.0,
			"accessories": []any{map[string]any{"name": "floor_mats", "quantity": 2.0, "unit_price": 500.0}}}
		if p := evaluate(order.fields, orderRules, rec, emptyZero); p != nil {
			t.Fatalf("problems: %v", p)
		}
		got := map[string]any{}
		for _, k := range []string{"final_price", "discount_rate", "loan_amount", "accessories_total", "total_amount"} {
			got[k] = rec[k]
		}
		want := map[string]any{"final_price": 180000.0, "discount_rate": 0.1, "loan_amount": 120000.0, "accessories_total": 1000.0,
			"total_amount": 186800.0}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); diff != "" {
			t.Errorf("formulas (-want +got):\n%s", diff)
		}
	})
}

// TestLoadBundle runs each template through the engine's own bundle loader,
// which checks everything an import checks.
func TestLoadBundle(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			data, err := Get(name)
			if err != nil {
				t.Fatal(err)
			}
			b, err := engine.LoadBundle(data)
			if err != nil {
				for _, f := range engine.ErrorFields(err) {
					t.Errorf("%s %s: %s", f.Field, f.Code, f.Message.En)
				}
				t.Fatalf("LoadBundle(%s): %v", name, engine.ErrorMessage(err, "en"))
			}
			info, err := GetInfo(name)
			if err != nil {
				t.Fatal(err)
			}
			got := []int{len(b.Forms), len(b.Roles), len(b.Workflows)}
			want := []int{len(info.Forms), len(info.Roles), len(info.Workflows)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("loaded forms, roles, workflows (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAccessPromises pins the data-protection promises of issue 7's role
// lists, so that an edit of a template cannot quietly weaken them.
func TestAccessPromises(t *testing.T) {
	type grant struct {
		Scope string
		Field string // field permission ("*" default applied)
	}
	for _, tc := range []struct {
		template, role, form, field string
		want                        grant
	}{
		{"crm", "sales_director", "customer", "phone", grant{"all", "edit"}},
		{"crm", "sales_manager", "opportunity", "amount", grant{"unit_and_below", "edit"}},
		{"crm", "sales_rep", "contact", "phone", grant{"own", "edit"}},
		{"crm", "finance", "contact", "phone", grant{"all", "masked"}},
		{"crm", "finance", "payment", "amount", grant{"all", "edit"}},
		{"crm", "analyst", "customer", "name", grant{"all", "masked"}},
		{"crm", "analyst", "customer", "phone", grant{"all", "masked"}},
		{"crm", "analyst", "customer", "id_number", grant{"all", "hidden"}},
		{"crm", "analyst", "customer", "credit_code", grant{"all", "hidden"}},
		{"crm", "analyst", "payment", "payer_account", grant{"all", "hidden"}},
		{"dealership", "general_manager", "vehicle", "cost_price", grant{"all", "edit"}},
		{"dealership", "sales_manager", "vehicle", "cost_price", grant{"unit_and_below", "read"}},
		{"dealership", "sales_consultant", "vehicle", "cost_price", grant{"unit", "hidden"}},
		{"dealership", "sales_consultant", "transfer", "transfer_price", grant{"own", "hidden"}},
		{"dealership", "sales_consultant", "customer", "id_number", grant{"own", "masked"}},
		{"dealership", "sales_consultant", "sales_order", "final_price", grant{"own", "edit"}},
		{"dealership", "service_advisor", "customer", "phone", grant{"unit", "masked"}},
		{"dealership", "service_advisor", "service_booking", "phone", grant{"own", "edit"}},
		{"dealership", "followup_specialist", "customer", "phone", grant{"unit_and_below", "masked"}},
		{"dealership", "group_hq", "customer", "id_number", grant{"all", "masked"}},
		{"dealership", "group_hq", "loan", "repay_account", grant{"all", "masked"}},
		{"dealership", "finance", "loan", "amount", grant{"unit_and_below", "edit"}},
	} {
		t.Run(tc.template+"/"+tc.role+"/"+tc.form+"."+tc.field, func(t *testing.T) {
			b, _ := loadTemplate(t, tc.template)
			var got grant
			for _, r := range b.Roles {
				if r["key"] != tc.role {
					continue
				}
				p, ok := mapOf(r["permissions"])[tc.form].(map[string]any)
				if !ok {
					break
				}
				got.Scope, _ = p["scope"].(string)
				fields := mapOf(p["fields"])
				if v, ok := fields[tc.field].(string); ok {
					got.Field = v
				} else {
					got.Field, _ = fields["*"].(string)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("grant (-want +got):\n%s", diff)
			}
		})
	}
}

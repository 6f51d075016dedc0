package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// MaxBundleSize is the largest bundle document LoadBundle reads.
const MaxBundleSize = 16 << 20

// LoadBundle validates and parses an app bundle: (1) against the
// meta-schemas, (2) semantically — every expression compiles against its
// form's field types, every reference resolves, keys are unique, durations
// parse, sample data passes its form's rules. It returns every error found,
// as an *Error (EINVALID) whose field errors carry JSON pointers into the
// bundle and messages in zh and en.
func LoadBundle(data []byte) (*Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, &Error{Code: ETOOLARGE, Message: Tf("应用包过大（最多 %d MB）", "the bundle is too large (at most %d MB)", MaxBundleSize>>20)}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, Invalid(FieldError{Field: "", Code: "json", Message: Tf("不是合法的 JSON：%v", "not valid JSON: %v", err)})
	}
	meta, err := metaSchema("bundle")
	if err != nil {
		return nil, fmt.Errorf("load bundle: %w", err)
	}
	l := &loader{}
	if err := meta.Validate(doc); err != nil {
		l.errs = append(l.errs, schemaErrors(err, "")...)
	}
	l.meta = len(l.errs)
	if _, ok := doc.(map[string]any); !ok {
		return nil, Invalid(l.errs...)
	}
	var top struct {
		Formwork   string                                `json:"formwork"`
		App        json.RawMessage                       `json:"app"`
		Units      []json.RawMessage                     `json:"units"`
		Roles      []json.RawMessage                     `json:"roles"`
		Forms      []json.RawMessage                     `json:"forms"`
		Workflows  []json.RawMessage                     `json:"workflows"`
		Views      []json.RawMessage                     `json:"views"`
		Dashboards []json.RawMessage                     `json:"dashboards"`
		SampleData map[string][]map[string]any           `json:"sample_data"`
		_          map[string]map[string]json.RawMessage `json:"-"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		if len(l.errs) == 0 {
			l.add("", "json", Tf("应用包结构错误：%v", "the bundle has the wrong shape: %v", err))
		}
		return nil, Invalid(l.errs...)
	}
	b := &Bundle{Formwork: top.Formwork, Raw: append(json.RawMessage(nil), data...), SampleData: top.SampleData}
	_ = json.Unmarshal(top.App, &b.App)
	l.loadForms(b, top.Forms)
	l.decodeList("/units", top.Units, func(i int, raw json.RawMessage) {
		var u UnitDef
		_ = json.Unmarshal(raw, &u)
		b.Units = append(b.Units, u)
	})
	l.decodeList("/roles", top.Roles, func(i int, raw json.RawMessage) {
		r := &Role{}
		if json.Unmarshal(raw, r) == nil {
			b.Roles = append(b.Roles, r)
			l.rolePtr[r] = fmt.Sprintf("/roles/%d", i)
		}
	})
	l.decodeList("/workflows", top.Workflows, func(i int, raw json.RawMessage) {
		w := &Workflow{}
		if json.Unmarshal(raw, w) == nil {
			b.Workflows = append(b.Workflows, w)
			l.wfPtr[w] = fmt.Sprintf("/workflows/%d", i)
		}
	})
	l.decodeList("/views", top.Views, func(i int, raw json.RawMessage) {
		v := &View{}
		if json.Unmarshal(raw, v) == nil {
			b.Views = append(b.Views, v)
			l.viewPtr[v] = fmt.Sprintf("/views/%d", i)
		}
	})
	l.decodeList("/dashboards", top.Dashboards, func(i int, raw json.RawMessage) {
		d := &Dashboard{}
		if json.Unmarshal(raw, d) == nil {
			b.Dashboards = append(b.Dashboards, d)
			l.dashPtr[d] = fmt.Sprintf("/dashboards/%d", i)
		}
	})
	l.checkUnits(b)
	l.checkRoles(b)
	l.checkWorkflows(b)
	l.checkViews(b)
	l.checkDashboards(b)
	if len(l.errs) == 0 {
		l.checkSampleData(b)
	}
	l.dropCovered()
	if len(l.errs) > 0 {
		sort.SliceStable(l.errs, func(i, j int) bool { return l.errs[i].Field < l.errs[j].Field })
		return nil, Invalid(l.errs...)
	}
	b.compiled = l.compiled
	return b, nil
}

type loader struct {
	errs     []FieldError
	meta     int // the first meta errors come from the meta-schemas
	compiled map[string]*CompiledForm
	rolePtr  map[*Role]string
	wfPtr    map[*Workflow]string
	viewPtr  map[*View]string
	dashPtr  map[*Dashboard]string
}

func (l *loader) add(ptr, code string, msg Text) {
	l.errs = append(l.errs, FieldError{Field: ptr, Code: code, Message: msg})
}

// dropCovered removes semantic errors at or under a meta-schema error: the
// structural error is the one to fix, the rest may be its echo.
func (l *loader) dropCovered() {
	meta := l.errs[:l.meta]
	out := append([]FieldError(nil), meta...)
	for _, e := range l.errs[l.meta:] {
		covered := false
		for _, m := range meta {
			if e.Field == m.Field || strings.HasPrefix(e.Field, m.Field+"/") || m.Field == "" {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, e)
		}
	}
	l.errs = out
}

func (l *loader) decodeList(prefix string, items []json.RawMessage, fn func(i int, raw json.RawMessage)) {
	if l.rolePtr == nil {
		l.rolePtr, l.wfPtr, l.viewPtr = map[*Role]string{}, map[*Workflow]string{}, map[*View]string{}
		l.dashPtr = map[*Dashboard]string{}
	}
	for i, raw := range items {
		fn(i, raw)
	}
}

func (l *loader) loadForms(b *Bundle, forms []json.RawMessage) {
	l.compiled = map[string]*CompiledForm{}
	seen := map[string]string{}
	for i, raw := range forms {
		ptr := fmt.Sprintf("/forms/%d", i)
		for _, d := range duplicateKeys(raw, ptr) {
			l.add(d, "duplicate", T("重复的键", "duplicate key"))
		}
		f, err := ParseForm(raw, ptr)
		if err != nil {
			l.add(ptr, "invalid", Tf("表单无法解析：%v", "the form cannot be read: %v", err))
			continue
		}
		if prev, dup := seen[f.Key]; dup {
			l.add(ptr+"/x-key", "duplicate", Tf("表单键 %q 与 %s 重复", "form key %q is already used by %s", f.Key, prev))
			continue
		}
		seen[f.Key] = ptr
		b.Forms = append(b.Forms, f)
	}
	for _, f := range b.Forms {
		l.checkForm(b, f)
		cf, err := CompileForm(f)
		if err != nil {
			l.errs = append(l.errs, ErrorFields(err)...)
			continue
		}
		l.compiled[f.Key] = cf
	}
}

// checkForm checks what the meta-schema cannot: references inside a form
// and to other forms, widgets that fit their types, options that fit enums.
func (l *loader) checkForm(b *Bundle, f *Form) {
	for i, r := range f.Required {
		if f.Field(r) == nil {
			l.add(fmt.Sprintf("%s/required/%d", f.Pointer, i), "reference", Tf("必填字段 %q 不存在", "required field %q does not exist", r))
		}
	}
	placed := map[string]string{}
	for si, s := range f.Layout {
		for fi, k := range s.Fields {
			ptr := fmt.Sprintf("%s/x-layout/%d/fields/%d", f.Pointer, si, fi)
			if f.Field(k) == nil {
				l.add(ptr, "reference", Tf("布局中的字段 %q 不存在", "layout field %q does not exist", k))
			} else if prev, dup := placed[k]; dup {
				l.add(ptr, "duplicate", Tf("字段 %q 已在 %s 中布局", "field %q is already placed at %s", k, prev))
			} else {
				placed[k] = ptr
			}
		}
	}
	for i, c := range f.Checks {
		for j, k := range c.Fields {
			if f.Field(k) == nil {
				l.add(fmt.Sprintf("%s/x-checks/%d/fields/%d", f.Pointer, i, j), "reference", Tf("字段 %q 不存在", "field %q does not exist", k))
			}
		}
	}
	var walk func(fields []*Field, top bool)
	walk = func(fields []*Field, top bool) {
		for _, fd := range fields {
			l.checkField(b, fd, top)
			if top {
				l.checkFill(b, f, fd)
			}
			if len(fd.Fields) > 0 {
				walk(fd.Fields, false)
				l.checkColumnRules(fd)
			}
			prefix := fd.Pointer
			if fd.IsSubform() {
				prefix += "/items"
			}
			for i, r := range fd.RequiredSub {
				if fd.Sub(r) == nil {
					l.add(fmt.Sprintf("%s/required/%d", prefix, i), "reference", Tf("必填字段 %q 不存在", "required field %q does not exist", r))
				}
			}
		}
	}
	walk(f.Fields, true)
}

// checkColumnRules refuses rules the engine does not run inside fd: a
// subform's columns may be computed, shown and required row by row
// (rule_rows.go), but not made read-only; an object's members carry none.
func (l *loader) checkColumnRules(fd *Field) {
	for _, sub := range fd.Fields {
		switch {
		case !fd.IsSubform() && (sub.Visible != "" || sub.Required != "" || sub.Readonly != "" || sub.Compute != ""):
			l.add(sub.Pointer, "rule", T("对象内的字段不支持规则", "fields inside an object cannot carry rules"))
		case sub.Readonly != "":
			l.add(sub.Pointer+"/x-readonly", "rule", T("子表单的列不支持只读规则（可改用公式列）", "a subform column cannot have a read-only rule (use a formula column instead)"))
		}
	}
}

// checkFill checks a relation's x-fill: each key a field of the related
// form, each value a field of this form.
func (l *loader) checkFill(b *Bundle, f *Form, fd *Field) {
	if len(fd.Fill) == 0 {
		return
	}
	if fd.Widget != WidgetRelation || fd.Relation == nil {
		l.add(fd.Pointer+"/x-fill", "relation", T("只有关联控件可以设置 x-fill", "only relation widgets take x-fill"))
		return
	}
	rf := b.Form(fd.Relation.Form)
	for _, from := range slices.Sorted(maps.Keys(fd.Fill)) {
		to := fd.Fill[from]
		if rf != nil && rf.Field(from) == nil {
			l.add(fd.Pointer+"/x-fill"+JSONPointer(from), "reference", Tf("表单 %q 中没有字段 %q", "form %q has no field %q", rf.Key, from))
		}
		if tf := f.Field(to); tf == nil || to == fd.Key {
			l.add(fd.Pointer+"/x-fill"+JSONPointer(from), "reference", Tf("字段 %q 不存在", "field %q does not exist", to))
		} else if tf.Compute != "" || tf.Widget == WidgetSerial || tf.Widget == WidgetFormula {
			l.add(fd.Pointer+"/x-fill"+JSONPointer(from), "reference", Tf("字段 %q 由系统计算，不能被带入", "field %q is computed by the system and cannot be filled", to))
		}
	}
}

// checkSerial refuses what a serial field cannot mean: the server numbers
// it at create and nobody changes it, so it takes no rules, no default and
// no encryption (the store writes the number inside the record's write),
// and it sits at the top of the form (a record has one number).
func (l *loader) checkSerial(fd *Field, top bool) {
	if !top {
		l.add(fd.Pointer+"/x-widget", "widget", T("流水号只能放在表单顶层，不能放在子表单里", "a serial number belongs to the form, not to a subform row"))
	}
	for _, kw := range []struct {
		key string
		set bool
	}{{"default", fd.HasDefault}, {"x-compute", fd.Compute != ""}, {"x-readonly", fd.Readonly != ""}, {"x-required", fd.Required != ""}, {"x-sensitive", fd.Sensitive != ""}, {"x-visible", fd.Visible != ""}} {
		if kw.set {
			l.add(fd.Pointer+"/"+kw.key, "serial", Tf("流水号由系统在新建时生成，不能设置 %s", "a serial number is given by the system at create and takes no %s", kw.key))
		}
	}
}

func (l *loader) checkField(b *Bundle, fd *Field, top bool) {
	bad := func(msg Text) { l.add(fd.Pointer+"/x-widget", "widget", msg) }
	scalarEnum := len(fd.Options) > 0
	switch fd.Widget {
	case WidgetText, WidgetTextarea, WidgetPhone, WidgetEmail, WidgetIDNumber, WidgetDate, WidgetDatetime, WidgetMember, WidgetUnit, WidgetRelation, WidgetSerial:
		if fd.Type != "string" {
			bad(Tf("控件 %s 需要 string 类型", "widget %s needs type string", fd.Widget))
		}
	case WidgetNumber, WidgetMoney:
		if fd.Type != "number" && fd.Type != "integer" {
			bad(Tf("控件 %s 需要 number 或 integer 类型", "widget %s needs type number or integer", fd.Widget))
		}
	case WidgetSelect, WidgetRadio:
		if !scalarEnum {
			bad(Tf("控件 %s 需要 enum 选项", "widget %s needs enum options", fd.Widget))
		}
		if fd.Widget == WidgetRadio && fd.Type == "array" {
			bad(T("单选控件不能用于数组", "a radio widget cannot hold an array"))
		}
	case WidgetCheckbox:
		if fd.Type != "boolean" && !(fd.Type == "array" && scalarEnum) {
			bad(T("复选框需要 boolean 类型，或带 enum 选项的数组", "a checkbox needs type boolean, or an array with enum items"))
		}
	case WidgetSubform:
		if !fd.IsSubform() {
			bad(T("子表单需要对象数组（type array，items type object）", "a subform needs an array of objects (type array, items of type object)"))
		}
		if !top {
			bad(T("子表单不能嵌套", "subforms cannot be nested"))
		}
	case WidgetAddress:
		if fd.Type != "string" && fd.Type != "object" {
			bad(T("地址控件需要 string 或 object 类型", "an address widget needs type string or object"))
		}
	case WidgetAttachment, WidgetImage:
		if fd.Type != "string" && fd.Type != "array" {
			bad(Tf("控件 %s 需要 string 或 array 类型", "widget %s needs type string or array", fd.Widget))
		}
	case WidgetFormula:
		if fd.Compute == "" {
			l.add(fd.Pointer, "formula", T("公式字段需要 x-compute", "a formula field needs x-compute"))
		}
	}
	if (fd.Widget == WidgetDate) && fd.Format != "" && fd.Format != "date" {
		l.add(fd.Pointer+"/format", "widget", T("日期控件的 format 应为 date", "a date widget's format must be date"))
	}
	if fd.Widget == WidgetRelation {
		if fd.Relation == nil {
			l.add(fd.Pointer, "relation", T("关联字段需要 x-relation", "a relation field needs x-relation"))
		} else if rf := b.Form(fd.Relation.Form); rf == nil {
			l.add(fd.Pointer+"/x-relation/form", "reference", Tf("关联的表单 %q 不存在", "related form %q does not exist", fd.Relation.Form))
		} else if fd.Relation.Display != "" && rf.Field(fd.Relation.Display) == nil {
			l.add(fd.Pointer+"/x-relation/display", "reference", Tf("表单 %q 中没有字段 %q", "form %q has no field %q", rf.Key, fd.Relation.Display))
		}
	} else if fd.Relation != nil {
		l.add(fd.Pointer+"/x-relation", "relation", T("只有关联控件可以设置 x-relation", "only relation widgets take x-relation"))
	}
	if fd.Serial != nil && fd.Widget != WidgetSerial {
		l.add(fd.Pointer+"/x-serial", "widget", T("只有流水号控件可以设置 x-serial", "only serial widgets take x-serial"))
	}
	if fd.Widget == WidgetSerial {
		l.checkSerial(fd, top)
	}
	// files are sensitive as a list too (an ID card's two sides): their
	// uploads are sealed (blob_seal.go) and the list of references is
	// encrypted in the record like any sensitive value
	files := fd.Type == "array" && (fd.Widget == WidgetAttachment || fd.Widget == WidgetImage)
	if fd.Sensitive != "" && fd.Type != "string" && fd.Type != "object" && !files {
		l.add(fd.Pointer+"/x-sensitive", "sensitive", T("敏感字段必须是 string 类型（附件和图片也可以是列表）", "a sensitive field must be of type string (attachments and images may be lists)"))
	}
	var raw struct {
		Options map[string]json.RawMessage `json:"x-options"`
	}
	_ = json.Unmarshal(fd.Schema, &raw)
	for k := range raw.Options {
		found := false
		for _, o := range fd.Options {
			if fmt.Sprint(o.Value) == k {
				found = true
			}
		}
		if !found {
			l.add(fd.Pointer+"/x-options"+JSONPointer(k), "reference", Tf("选项 %q 不在 enum 中", "option %q is not in the enum", k))
		}
	}
}

// duplicateKeys finds object keys that appear twice in one JSON object
// (encoding/json silently keeps the last one).
func duplicateKeys(raw json.RawMessage, ptr string) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var out []string
	var walk func(ptr string) error
	walk = func(ptr string) error {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		d, ok := t.(json.Delim)
		if !ok {
			return nil
		}
		switch d {
		case '{':
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k := kt.(string)
				p := ptr + JSONPointer(k)
				if seen[k] {
					out = append(out, p)
				}
				seen[k] = true
				if err := walk(p); err != nil {
					return err
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s/%d", ptr, i)); err != nil {
					return err
				}
			}
		}
		_, err = dec.Token()
		return err
	}
	_ = walk(ptr)
	return out
}

func (l *loader) checkUnits(b *Bundle) {
	seen := map[string]bool{}
	for i, u := range b.Units {
		if seen[u.Key] {
			l.add(fmt.Sprintf("/units/%d/key", i), "duplicate", Tf("组织键 %q 重复", "unit key %q is used twice", u.Key))
		}
		seen[u.Key] = true
	}
	parent := map[string]string{}
	for _, u := range b.Units {
		parent[u.Key] = u.Parent
	}
	for i, u := range b.Units {
		if u.Parent != "" && !seen[u.Parent] {
			l.add(fmt.Sprintf("/units/%d/parent", i), "reference", Tf("上级组织 %q 不存在", "parent unit %q does not exist", u.Parent))
			continue
		}
		for k, n := parent[u.Key], 0; k != ""; k, n = parent[k], n+1 {
			if k == u.Key || n > len(b.Units) {
				l.add(fmt.Sprintf("/units/%d/parent", i), "cycle", T("组织的上下级形成了循环", "the unit tree has a cycle"))
				break
			}
		}
	}
}

func (l *loader) checkRoles(b *Bundle) {
	seen := map[string]bool{}
	for _, r := range b.Roles {
		ptr := l.rolePtr[r]
		if seen[r.Key] {
			l.add(ptr+"/key", "duplicate", Tf("角色键 %q 重复", "role key %q is used twice", r.Key))
		}
		seen[r.Key] = true
		if r.Policy != nil {
			if r.Policy.Hours != "" {
				if _, _, err := ParseHours(r.Policy.Hours); err != nil {
					l.add(ptr+"/policy/hours", "hours", Tf("时间段无效：%v", "invalid hours: %v", err))
				}
			}
			for i, c := range r.Policy.IP {
				if _, _, err := net.ParseCIDR(c); err != nil {
					if net.ParseIP(c) == nil {
						l.add(fmt.Sprintf("%s/policy/ip/%d", ptr, i), "cidr", Tf("无效的 IP 段 %q", "invalid IP range %q", c))
					}
				}
			}
		}
		for fk, p := range r.Permissions {
			fptr := ptr + "/permissions" + JSONPointer(fk)
			f := b.Form(fk)
			if f == nil {
				l.add(fptr, "reference", Tf("表单 %q 不存在", "form %q does not exist", fk))
				continue
			}
			for k := range p.Fields {
				if k != "*" && f.Field(k) == nil {
					l.add(fptr+"/fields"+JSONPointer(k), "reference", Tf("表单 %q 中没有字段 %q", "form %q has no field %q", fk, k))
				}
			}
			if p.Scope.Kind == "" {
				p.Scope.Kind = ScopeOwn
			}
			if p.Scope.Kind == ScopeFilter {
				if err := CheckFilter(f, p.Scope.Filter); err != nil {
					for _, fe := range ErrorFields(err) {
						l.add(fptr+"/scope/filter"+fe.Field, fe.Code, fe.Message)
					}
				}
			}
		}
	}
}

func (l *loader) checkViews(b *Bundle) {
	for _, v := range b.Views {
		ptr := l.viewPtr[v]
		f := b.Form(v.Form)
		if f == nil {
			l.add(ptr+"/form", "reference", Tf("表单 %q 不存在", "form %q does not exist", v.Form))
			continue
		}
		for i, c := range v.Columns {
			if f.Field(c) == nil && !isSystemField(c) {
				l.add(fmt.Sprintf("%s/columns/%d", ptr, i), "reference", Tf("字段 %q 不存在", "field %q does not exist", c))
			}
		}
		for i, s := range v.Sort {
			k := strings.TrimPrefix(s, "-")
			if f.Field(k) == nil && !isSystemField(k) {
				l.add(fmt.Sprintf("%s/sort/%d", ptr, i), "reference", Tf("字段 %q 不存在", "field %q does not exist", k))
			}
		}
		if len(v.Filter) > 0 {
			if err := CheckFilter(f, v.Filter); err != nil {
				for _, fe := range ErrorFields(err) {
					l.add(ptr+"/filter"+fe.Field, fe.Code, fe.Message)
				}
			}
		}
	}
}

func isSystemField(k string) bool {
	for _, s := range SystemFields {
		if s == k {
			return true
		}
	}
	return false
}

func (l *loader) checkSampleData(b *Bundle) {
	keys := make([]string, 0, len(b.SampleData))
	for k := range b.SampleData {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, fk := range keys {
		ptr := "/sample_data" + JSONPointer(fk)
		cf := l.compiled[fk]
		if cf == nil {
			l.add(ptr, "reference", Tf("表单 %q 不存在", "form %q does not exist", fk))
			continue
		}
		for i, rec := range b.SampleData[fk] {
			res := cf.Evaluate(EvalInput{Data: rec, Now: time.Now(), SkipTimeChecks: true, NoFieldMap: true})
			for _, fe := range res.Errors {
				l.add(fmt.Sprintf("%s/%d%s", ptr, i, fe.Field), fe.Code, fe.Message)
			}
		}
	}
}

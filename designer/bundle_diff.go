package designer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"formwork/engine"
)

// Change is one difference between the published bundle and the draft, in
// plain words. Pointer is into the draft, or for a removal into the
// published bundle.
type Change struct {
	Op      string      `json:"op"` // add, remove or change
	Pointer string      `json:"pointer"`
	Kind    string      `json:"kind"` // app, form, field, rule, layout, role, permission, workflow, node, unit, view, sample_data
	Summary engine.Text `json:"summary"`
}

// Impact is data a publish would orphan: a removed form's records (Field
// empty) or a removed field's values, in Records records.
type Impact struct {
	Form    string `json:"form"`
	Field   string `json:"field,omitempty"`
	Records int64  `json:"records"`
}

// Diff is what publishing the draft would change.
type Diff struct {
	Changes []Change `json:"changes"`
	Impact  []Impact `json:"impact"`
	// Base is the published version the draft started from and Published
	// the app's latest: when they differ, someone published since (a CLI
	// import, another designer) and the changes include undoing theirs.
	Base      int `json:"base"`
	Published int `json:"published"`
}

// Stale says whether the app was published since the draft began.
func (df *Diff) Stale() bool { return df.Base != df.Published }

// Diff compares app's draft with its published version. Without a draft
// there are no changes; for a new app everything is added. The impact is
// counted only for a draft that loads (an invalid one cannot be published
// anyway). Designers only.
func (d *Designer) Diff(ctx context.Context, p *engine.Principal, app string) (*Diff, error) {
	if err := d.svc.AuthorizeDesign(ctx, p, app, "draft.diff"); err != nil {
		return nil, err
	}
	cur, err := d.current(ctx, p, app)
	if err != nil {
		return nil, err
	}
	var pub []byte
	published := cur.base
	if cur.draft == nil {
		pub = cur.data
	} else if pub, published, err = d.svc.AppVersionBundle(ctx, p, app, 0); err != nil && engine.ErrorCode(err) != engine.ENOTFOUND {
		return nil, err
	}
	changes, err := diffBundles(pub, cur.data)
	if err != nil {
		return nil, err
	}
	out := &Diff{Changes: changes, Impact: []Impact{}, Base: cur.base, Published: published}
	if cur.draft == nil || len(cur.draft.Problems) > 0 {
		return out, nil
	}
	lost, err := d.svc.UpgradeImpact(ctx, p, app, cur.data)
	if err != nil {
		return nil, err
	}
	for _, l := range lost {
		out.Impact = append(out.Impact, Impact{Form: l.Form, Field: l.Field, Records: l.Records})
	}
	return out, nil
}

type obj = map[string]any

// diffBundles lists the changes from old to new (old nil: a new app).
func diffBundles(old, new []byte) ([]Change, error) {
	var o, n obj
	if len(old) > 0 {
		if err := json.Unmarshal(old, &o); err != nil {
			return nil, fmt.Errorf("diff: published bundle: %w", err)
		}
	}
	if err := json.Unmarshal(new, &n); err != nil {
		return nil, fmt.Errorf("diff: draft: %w", err)
	}
	df := &differ{changes: []Change{}, oldOrder: fieldOrder(old), newOrder: fieldOrder(new)}
	df.bundle(o, n)
	return df.changes, nil
}

type differ struct {
	changes []Change
	// oldOrder and newOrder hold each form's field keys in document order
	// (decoded maps have none), so that changes are said in the form's order.
	oldOrder, newOrder map[string][]string
}

// fieldOrder reads the field keys of each form of a bundle in document order.
func fieldOrder(data []byte) map[string][]string {
	var b struct {
		Forms []struct {
			Key        string          `json:"x-key"`
			Properties json.RawMessage `json:"properties"`
		} `json:"forms"`
	}
	out := map[string][]string{}
	if json.Unmarshal(data, &b) != nil {
		return out
	}
	for _, f := range b.Forms {
		dec := json.NewDecoder(bytes.NewReader(f.Properties))
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			continue
		}
		var keys []string
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				break
			}
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				break
			}
			keys = append(keys, t.(string))
		}
		if _, dup := out[f.Key]; !dup {
			out[f.Key] = keys
		}
	}
	return out
}

// ordered returns the keys of o in the order given, then any others sorted.
func ordered(o obj, order []string) []string {
	out := make([]string, 0, len(o))
	seen := map[string]bool{}
	for _, k := range order {
		if _, ok := o[k]; ok && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, k := range sortedKeys(o) {
		if !seen[k] {
			out = append(out, k)
		}
	}
	return out
}

// say records a change; zh and en are formats whose %s take names, each
// given in the summary's language.
func (df *differ) say(op, ptr, kind, zh, en string, names ...engine.Text) {
	za, ea := make([]any, len(names)), make([]any, len(names))
	for i, t := range names {
		za[i], ea[i] = t.In("zh"), t.In("en")
	}
	df.changes = append(df.changes, Change{Op: op, Pointer: ptr, Kind: kind,
		Summary: engine.Text{Zh: fmt.Sprintf(zh, za...), En: fmt.Sprintf(en, ea...)}})
}

// rename says that something's name changed; in a language where the name
// stayed the same it says so without repeating it twice.
func (df *differ) rename(ptr, kind, zhNoun, enNoun string, old, new engine.Text) {
	sum := engine.Text{
		Zh: fmt.Sprintf("%s「%s」改名为「%s」", zhNoun, old.In("zh"), new.In("zh")),
		En: fmt.Sprintf("renamed %s %s to %s", enNoun, old.In("en"), new.In("en")),
	}
	if old.In("zh") == new.In("zh") {
		sum.Zh = fmt.Sprintf("修改了%s「%s」的名称", zhNoun, new.In("zh"))
	}
	if old.In("en") == new.In("en") {
		sum.En = fmt.Sprintf("changed the name of %s %s", enNoun, new.In("en"))
	}
	df.changes = append(df.changes, Change{Op: "change", Pointer: ptr, Kind: kind, Summary: sum})
}

func (df *differ) bundle(o, n obj) {
	oa, na := asObj(o["app"]), asObj(n["app"])
	if o == nil {
		df.say("add", "/app", "app", "新建应用「%s」", "new app %s", text(na["name"], str(na["key"])))
	} else {
		if !same(oa["name"], na["name"]) {
			df.say("change", "/app/name", "app", "应用名称改为「%s」", "renamed the app to %s", text(na["name"], str(na["key"])))
		}
		if !same(oa["version"], na["version"]) {
			df.say("change", "/app/version", "app", "版本号 %s → %s", "version %s → %s", plain(str(oa["version"])), plain(str(na["version"])))
		}
		if !sameExcept(oa, na, "name", "version") {
			df.say("change", "/app", "app", "修改了应用信息", "changed the app's details")
		}
	}
	if !same(o["formwork"], n["formwork"]) && o != nil {
		df.say("change", "/formwork", "app", "修改了格式版本", "changed the format version")
	}
	df.list("/forms", nounForm, asList(o["forms"]), asList(n["forms"]), df.form)
	df.list("/roles", nounRole, asList(o["roles"]), asList(n["roles"]), df.role)
	df.list("/workflows", nounWorkflow, asList(o["workflows"]), asList(n["workflows"]), df.workflow)
	df.list("/units", nounUnit, asList(o["units"]), asList(n["units"]), nil)
	df.list("/views", nounView, asList(o["views"]), asList(n["views"]), nil)
	if !same(o["sample_data"], n["sample_data"]) {
		df.say(opOf(o["sample_data"], n["sample_data"]), "/sample_data", "sample_data", "修改了示例数据", "changed the sample data")
	}
	if !sameExcept(o, n, "formwork", "app", "forms", "roles", "workflows", "units", "views", "sample_data") && o != nil {
		df.say("change", "", "app", "修改了应用包的其他内容", "changed other parts of the bundle")
	}
}

// item is one element of a keyed list: where it sits and what it is.
type item struct {
	ptr string
	v   obj
}

// byKey indexes a list of objects by their key member, in list order.
func byKey(prefix, keyName string, list []any) ([]string, map[string]item) {
	var keys []string
	m := map[string]item{}
	for i, e := range list {
		o := asObj(e)
		k := str(o[keyName])
		if _, dup := m[k]; dup {
			continue
		}
		keys = append(keys, k)
		m[k] = item{ptr: fmt.Sprintf("%s/%d", prefix, i), v: o}
	}
	return keys, m
}

// pair walks two keyed lists: removed items first (in the old order), then
// added and kept ones in the new order.
func pair(oKeys []string, om map[string]item, nKeys []string, nm map[string]item, fn func(k string, o, n *item)) {
	for _, k := range oKeys {
		if _, ok := nm[k]; !ok {
			o := om[k]
			fn(k, &o, nil)
		}
	}
	for _, k := range nKeys {
		n := nm[k]
		if o, ok := om[k]; ok {
			fn(k, &o, &n)
		} else {
			fn(k, nil, &n)
		}
	}
}

// noun names what a keyed list holds, for the summaries.
type noun struct {
	kind, zh, en string
	key, name    string // the members holding an element's key and name
}

var (
	nounForm     = noun{"form", "表单", "form", "x-key", "x-title"}
	nounRole     = noun{"role", "角色", "role", "key", "name"}
	nounWorkflow = noun{"workflow", "流程", "workflow", "key", "name"}
	nounUnit     = noun{"unit", "单位", "unit", "key", "name"}
	nounView     = noun{"view", "视图", "view", "key", "name"}
)

// list compares two keyed lists: removed and added elements are said here,
// kept ones are handed to changed (nil: any difference is one change).
func (df *differ) list(prefix string, n noun, o, nw []any, changed func(k string, a, b *item)) {
	ok, om := byKey(prefix, n.key, o)
	nk, nm := byKey(prefix, n.key, nw)
	pair(ok, om, nk, nm, func(k string, a, b *item) {
		switch {
		case b == nil:
			df.say("remove", a.ptr, n.kind, "删除"+n.zh+"「%s」", "removed "+n.en+" %s", text(a.v[n.name], k))
		case a == nil:
			df.say("add", b.ptr, n.kind, "新增"+n.zh+"「%s」", "added "+n.en+" %s", text(b.v[n.name], k))
		case changed != nil:
			changed(k, a, b)
		case !same(a.v, b.v):
			df.say("change", b.ptr, n.kind, "修改了"+n.zh+"「%s」", "changed "+n.en+" %s", text(b.v[n.name], k))
		}
	})
}

func (df *differ) form(k string, a, b *item) {
	name := text(b.v["x-title"], k)
	if !same(a.v["x-title"], b.v["x-title"]) {
		df.rename(b.ptr+"/x-title", "form", "表单", "form", text(a.v["x-title"], k), name)
	}
	df.fields(b.ptr, k, a.v, b.v)
	if !same(a.v["x-checks"], b.v["x-checks"]) {
		df.say(opOf(a.v["x-checks"], b.v["x-checks"]), b.ptr+"/x-checks", "rule", "修改了表单「%s」的校验规则", "changed the checks of form %s", name)
	}
	if !same(a.v["x-layout"], b.v["x-layout"]) {
		df.say(opOf(a.v["x-layout"], b.v["x-layout"]), b.ptr+"/x-layout", "layout", "修改了表单「%s」的布局", "changed the layout of form %s", name)
	}
	if !sameExcept(a.v, b.v, "x-title", "properties", "required", "x-checks", "x-layout") {
		df.say("change", b.ptr, "form", "修改了表单「%s」的设置", "changed the settings of form %s", name)
	}
}

// fieldAspects groups a field's keywords by what a manager calls them;
// anything else is a change of the field itself.
var fieldAspects = []struct {
	kind, zh, en string
	keys         []string
}{
	{"field", "", "", []string{"x-label"}}, // see rename
	{"field", "修改了字段「%s」的类型", "changed the type of field %s", []string{"type", "x-widget", "format"}},
	{"field", "修改了字段「%s」的选项", "changed the options of field %s", []string{"enum", "x-options", "items"}},
	{"rule", "修改了字段「%s」的规则", "changed the rules of field %s", []string{"x-visible", "x-required", "x-readonly", "x-compute",
		"pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "multipleOf", "x-pattern-message", "x-message", "x-messages"}},
}

func (df *differ) fields(formPtr, form string, o, n obj) {
	op, np := asObj(o["properties"]), asObj(n["properties"])
	oreq, nreq := strSet(o["required"]), strSet(n["required"])
	for _, k := range ordered(op, df.oldOrder[form]) {
		if _, ok := np[k]; !ok {
			df.say("remove", formPtr+"/properties/"+escape(k), "field", "删除字段「%s」", "removed field %s", text(asObj(op[k])["x-label"], k))
		}
	}
	for _, k := range ordered(np, df.newOrder[form]) {
		ptr := formPtr + "/properties/" + escape(k)
		nf := asObj(np[k])
		name := text(nf["x-label"], k)
		of, kept := op[k]
		if !kept {
			if o != nil {
				df.say("add", ptr, "field", "新增字段「%s」", "added field %s", name)
			}
			continue
		}
		ofo := asObj(of)
		covered := []string{}
		for _, a := range fieldAspects {
			covered = append(covered, a.keys...)
			if sameKeys(ofo, nf, a.keys) {
				continue
			}
			if a.keys[0] == "x-label" {
				df.rename(ptr+"/x-label", a.kind, "字段", "field", text(ofo["x-label"], k), name)
				continue
			}
			df.say("change", ptr, a.kind, a.zh, a.en, name)
		}
		if oreq[k] != nreq[k] {
			if nreq[k] {
				df.say("change", ptr, "rule", "字段「%s」改为必填", "field %s is now required", name)
			} else {
				df.say("change", ptr, "rule", "字段「%s」改为选填", "field %s is no longer required", name)
			}
		}
		if !sameExcept(ofo, nf, covered...) {
			df.say("change", ptr, "field", "修改了字段「%s」的设置", "changed the settings of field %s", name)
		}
	}
}

func (df *differ) role(k string, a, b *item) {
	name := text(b.v["name"], k)
	if !same(a.v["name"], b.v["name"]) {
		df.rename(b.ptr+"/name", "role", "角色", "role", text(a.v["name"], k), name)
	}
	if !sameExcept(a.v, b.v, "name", "permissions") {
		df.say("change", b.ptr, "role", "修改了角色「%s」的设置（MFA、时段或 IP）", "changed the settings of role %s (MFA, hours or IP)", name)
	}
	ap, bp := asObj(a.v["permissions"]), asObj(b.v["permissions"])
	forms := sortedKeys(ap)
	for _, f := range sortedKeys(bp) {
		if _, ok := ap[f]; !ok {
			forms = append(forms, f)
		}
	}
	for _, f := range forms {
		ptr := b.ptr + "/permissions/" + escape(f)
		x, y := asObj(ap[f]), asObj(bp[f])
		switch {
		case y == nil:
			df.say("remove", ptr, "permission", "角色「%s」不再能访问表单 %s", "role %s no longer has access to form %s", name, plain(f))
		case x == nil:
			df.say("add", ptr, "permission", "角色「%s」可以访问表单 %s", "role %s now has access to form %s", name, plain(f))
		default:
			if !same(x["operations"], y["operations"]) {
				df.say("change", ptr+"/operations", "permission", "角色「%s」在表单 %s 上的操作改为 %s", "role %[1]s may now %[3]s on form %[2]s", name, plain(f), plain(joinList(y["operations"])))
			}
			if !same(x["scope"], y["scope"]) {
				df.say("change", ptr+"/scope", "permission", "修改了角色「%s」在表单 %s 上的数据范围", "changed the data scope of role %s on form %s", name, plain(f))
			}
			if !same(x["fields"], y["fields"]) {
				df.say("change", ptr+"/fields", "permission", "修改了角色「%s」在表单 %s 上的字段权限", "changed the field permissions of role %s on form %s", name, plain(f))
			}
			if !sameExcept(x, y, "operations", "scope", "fields") {
				df.say("change", ptr, "permission", "修改了角色「%s」在表单 %s 上的权限", "changed the permissions of role %s on form %s", name, plain(f))
			}
		}
	}
}

func (df *differ) workflow(k string, a, b *item) {
	name := text(b.v["name"], k)
	if !sameExcept(a.v, b.v, "nodes") {
		df.say("change", b.ptr, "workflow", "修改了流程「%s」的设置（名称、表单或触发条件）", "changed the settings of workflow %s (name, form or trigger)", name)
	}
	on, nn := map[string]item{}, map[string]item{}
	var oOrder, nOrder []string
	flattenNodes(b.ptr+"/nodes", asList(a.v["nodes"]), on, &oOrder)
	flattenNodes(b.ptr+"/nodes", asList(b.v["nodes"]), nn, &nOrder)
	moved := false
	pair(oOrder, on, nOrder, nn, func(nk string, x, y *item) {
		switch {
		case y == nil:
			df.say("remove", a.ptr+strings.TrimPrefix(x.ptr, b.ptr), "node", "从流程「%s」删除节点「%s」", "removed node %[2]s from workflow %[1]s", name, text(x.v["name"], nk))
		case x == nil:
			df.say("add", y.ptr, "node", "在流程「%s」中新增节点「%s」", "added node %[2]s to workflow %[1]s", name, text(y.v["name"], nk))
		case !sameExcept(x.v, y.v, "branches", "nodes") || !sameBranchConds(x.v, y.v):
			df.say("change", y.ptr, "node", "修改了流程「%s」的节点「%s」", "changed node %[2]s of workflow %[1]s", name, text(y.v["name"], nk))
		case x.ptr != y.ptr:
			moved = true
		}
	})
	if moved {
		df.say("change", b.ptr+"/nodes", "workflow", "调整了流程「%s」的节点顺序", "reordered the nodes of workflow %s", name)
	}
}

// flattenNodes indexes a workflow's nodes by key, branches included.
func flattenNodes(prefix string, nodes []any, into map[string]item, order *[]string) {
	for i, e := range nodes {
		o := asObj(e)
		ptr := fmt.Sprintf("%s/%d", prefix, i)
		k := str(o["key"])
		if _, dup := into[k]; !dup {
			into[k] = item{ptr: ptr, v: o}
			*order = append(*order, k)
		}
		for bi, br := range asList(o["branches"]) {
			flattenNodes(fmt.Sprintf("%s/branches/%d/nodes", ptr, bi), asList(asObj(br)["nodes"]), into, order)
		}
		flattenNodes(ptr+"/nodes", asList(o["nodes"]), into, order)
	}
}

// sameBranchConds compares a condition or parallel node's branches without
// the nodes inside them (those are compared one by one).
func sameBranchConds(a, b obj) bool {
	strip := func(v any) []any {
		var out []any
		for _, br := range asList(v) {
			m := obj{}
			for k, x := range asObj(br) {
				if k != "nodes" {
					m[k] = x
				}
			}
			out = append(out, m)
		}
		return out
	}
	return reflect.DeepEqual(strip(a["branches"]), strip(b["branches"]))
}

func asObj(v any) obj {
	o, _ := v.(obj)
	return o
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// text reads a bilingual name, falling back to the key.
func text(v any, key string) engine.Text {
	switch t := v.(type) {
	case string:
		if t != "" {
			return engine.T(t, t)
		}
	case obj:
		out := engine.T(str(t["zh"]), str(t["en"]))
		if !out.IsZero() {
			return engine.T(out.In("zh"), out.In("en"))
		}
	}
	return engine.T(key, key)
}

func plain(s string) engine.Text { return engine.T(s, s) }

func joinList(v any) string {
	var parts []string
	for _, e := range asList(v) {
		parts = append(parts, fmt.Sprint(e))
	}
	return strings.Join(parts, ", ")
}

func same(a, b any) bool { return reflect.DeepEqual(a, b) }

func opOf(a, b any) string {
	switch {
	case a == nil:
		return "add"
	case b == nil:
		return "remove"
	}
	return "change"
}

func sameKeys(a, b obj, keys []string) bool {
	for _, k := range keys {
		if !same(a[k], b[k]) {
			return false
		}
	}
	return true
}

// sameExcept compares two objects leaving out some members.
func sameExcept(a, b obj, except ...string) bool {
	for k, v := range a {
		if !slices.Contains(except, k) && !same(v, b[k]) {
			return false
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok && !slices.Contains(except, k) {
			return false
		}
	}
	return true
}

func sortedKeys(o obj) []string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func strSet(v any) map[string]bool {
	m := map[string]bool{}
	for _, e := range asList(v) {
		m[str(e)] = true
	}
	return m
}

func escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

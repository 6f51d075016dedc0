package designer_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/designer"
	"formwork/engine"
)

func TestDiffSummaries(t *testing.T) {
	f := newFixture(t)
	f.publish(t, miniBundle)
	des := f.users["des"]
	if d, err := f.d.Diff(ctx, des, "mini"); err != nil || len(d.Changes) != 0 || len(d.Impact) != 0 {
		t.Fatalf("diff without a draft: %+v %v", d, err)
	}
	patch := `[
	  {"op": "replace", "path": "/app/name", "value": {"zh": "小小店", "en": "Tiny"}},
	  {"op": "add", "path": "/forms/0/properties/phone", "value": {"type": "string", "x-widget": "phone", "x-label": {"zh": "手机", "en": "Phone"}}},
	  {"op": "replace", "path": "/forms/0/properties/name/x-label", "value": {"zh": "全名", "en": "Full name"}},
	  {"op": "add", "path": "/forms/0/properties/level/enum/-", "value": "c"},
	  {"op": "add", "path": "/forms/0/properties/level/x-visible", "value": "name != ''"},
	  {"op": "add", "path": "/forms/0/required/-", "value": "level"},
	  {"op": "add", "path": "/forms/0/x-layout/0/fields/-", "value": "phone"},
	  {"op": "replace", "path": "/roles/0/permissions/customer/operations", "value": ["create", "read", "update"]},
	  {"op": "add", "path": "/roles/0/permissions/customer/fields/phone", "value": "masked"},
	  {"op": "add", "path": "/roles/-", "value": {"key": "boss", "name": {"zh": "老板", "en": "Owner"}, "permissions": {}}},
	  {"op": "add", "path": "/workflows/0/nodes/-", "value": {"key": "tell", "type": "cc", "name": {"zh": "知会", "en": "Notify"}, "to": {"roles": ["staff"]}}},
	  {"op": "replace", "path": "/workflows/0/nodes/0/mode", "value": "all"}
	]`
	d, err := f.d.Patch(ctx, des, "mini", []byte(patch), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Problems) != 0 {
		t.Fatalf("problems: %+v", d.Problems)
	}
	got, err := f.d.Diff(ctx, des, "mini")
	if err != nil {
		t.Fatal(err)
	}
	want := &designer.Diff{Impact: []designer.Impact{}, Changes: []designer.Change{
		{Op: "change", Pointer: "/app/name", Kind: "app", Summary: engine.T("应用名称改为「小小店」", "renamed the app to Tiny")},
		{Op: "change", Pointer: "/forms/0/properties/level", Kind: "field", Summary: engine.T("修改了字段「等级」的选项", "changed the options of field Level")},
		{Op: "change", Pointer: "/forms/0/properties/level", Kind: "rule", Summary: engine.T("修改了字段「等级」的规则", "changed the rules of field Level")},
		{Op: "change", Pointer: "/forms/0/properties/level", Kind: "rule", Summary: engine.T("字段「等级」改为必填", "field Level is now required")},
		{Op: "change", Pointer: "/forms/0/properties/name/x-label", Kind: "field", Summary: engine.T("字段「姓名」改名为「全名」", "renamed field Name to Full name")},
		{Op: "add", Pointer: "/forms/0/properties/phone", Kind: "field", Summary: engine.T("新增字段「手机」", "added field Phone")},
		{Op: "change", Pointer: "/forms/0/x-layout", Kind: "layout", Summary: engine.T("修改了表单「客户」的布局", "changed the layout of form Customer")},
		{Op: "change", Pointer: "/roles/0/permissions/customer/operations", Kind: "permission", Summary: engine.T("角色「店员」在表单 customer 上的操作改为 create, read, update", "role Staff may now create, read, update on form customer")},
		{Op: "change", Pointer: "/roles/0/permissions/customer/fields", Kind: "permission", Summary: engine.T("修改了角色「店员」在表单 customer 上的字段权限", "changed the field permissions of role Staff on form customer")},
		{Op: "add", Pointer: "/roles/1", Kind: "role", Summary: engine.T("新增角色「老板」", "added role Owner")},
		{Op: "change", Pointer: "/workflows/0/nodes/0", Kind: "node", Summary: engine.T("修改了流程「审核」的节点「店长」", "changed node Boss of workflow Check")},
		{Op: "add", Pointer: "/workflows/0/nodes/1", Kind: "node", Summary: engine.T("在流程「审核」中新增节点「知会」", "added node Notify to workflow Check")},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
}

func TestDiffRemovals(t *testing.T) {
	f := newFixture(t)
	f.publish(t, miniBundle)
	patch := `[
	  {"op": "remove", "path": "/workflows/0"},
	  {"op": "remove", "path": "/roles/0/permissions/customer"},
	  {"op": "remove", "path": "/forms/0/properties/level"},
	  {"op": "replace", "path": "/forms/0/x-layout/0/fields", "value": ["name"]}
	]`
	if _, err := f.d.Patch(ctx, f.users["admin"], "mini", []byte(patch), 0); err != nil {
		t.Fatal(err)
	}
	got, err := f.d.Diff(ctx, f.users["admin"], "mini")
	if err != nil {
		t.Fatal(err)
	}
	want := []designer.Change{
		{Op: "remove", Pointer: "/forms/0/properties/level", Kind: "field", Summary: engine.T("删除字段「等级」", "removed field Level")},
		{Op: "change", Pointer: "/forms/0/x-layout", Kind: "layout", Summary: engine.T("修改了表单「客户」的布局", "changed the layout of form Customer")},
		{Op: "remove", Pointer: "/roles/0/permissions/customer", Kind: "permission", Summary: engine.T("角色「店员」不再能访问表单 customer", "role Staff no longer has access to form customer")},
		{Op: "remove", Pointer: "/workflows/0", Kind: "workflow", Summary: engine.T("删除流程「审核」", "removed workflow Check")},
	}
	if diff := cmp.Diff(want, got.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

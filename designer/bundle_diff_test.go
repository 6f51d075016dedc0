package designer_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/designer"
	"formwork/engine"
)

func TestDiffSummaries(t *testing.T) {
	cases := []struct {
		name  string
		patch string // on the published mini app; "" saves mini as a new app
		want  []designer.Change
	}{{
		name: "new app",
		want: []designer.Change{
			{Op: "add", Pointer: "/app", Kind: "app", Summary: engine.T("新建应用「小店」", "new app Mini")},
			{Op: "add", Pointer: "/forms/0", Kind: "form", Summary: engine.T("新增表单「客户」", "added form Customer")},
			{Op: "add", Pointer: "/roles/0", Kind: "role", Summary: engine.T("新增角色「店员」", "added role Staff")},
			{Op: "add", Pointer: "/workflows/0", Kind: "workflow", Summary: engine.T("新增流程「审核」", "added workflow Check")},
		},
	}, {
		name: "additions and changes, fields in the form's order",
		patch: `[
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
		]`,
		want: []designer.Change{
			{Op: "change", Pointer: "/app/name", Kind: "app", Summary: engine.T("应用名称改为「小小店」", "renamed the app to Tiny")},
			{Op: "change", Pointer: "/forms/0/properties/name/x-label", Kind: "field", Summary: engine.T("字段「姓名」改名为「全名」", "renamed field Name to Full name")},
			{Op: "change", Pointer: "/forms/0/properties/level", Kind: "field", Summary: engine.T("修改了字段「等级」的选项", "changed the options of field Level")},
			{Op: "change", Pointer: "/forms/0/properties/level", Kind: "rule", Summary: engine.T("修改了字段「等级」的规则", "changed the rules of field Level")},
			{Op: "change", Pointer: "/forms/0/properties/level", Kind: "rule", Summary: engine.T("字段「等级」改为必填", "field Level is now required")},
			{Op: "add", Pointer: "/forms/0/properties/phone", Kind: "field", Summary: engine.T("新增字段「手机」", "added field Phone")},
			{Op: "change", Pointer: "/forms/0/x-layout", Kind: "layout", Summary: engine.T("修改了表单「客户」的布局", "changed the layout of form Customer")},
			{Op: "change", Pointer: "/roles/0/permissions/customer/operations", Kind: "permission", Summary: engine.T("角色「店员」在表单 customer 上的操作改为 create, read, update", "role Staff may now create, read, update on form customer")},
			{Op: "change", Pointer: "/roles/0/permissions/customer/fields", Kind: "permission", Summary: engine.T("修改了角色「店员」在表单 customer 上的字段权限", "changed the field permissions of role Staff on form customer")},
			{Op: "add", Pointer: "/roles/1", Kind: "role", Summary: engine.T("新增角色「老板」", "added role Owner")},
			{Op: "change", Pointer: "/workflows/0/nodes/0", Kind: "node", Summary: engine.T("修改了流程「审核」的节点「店长」", "changed node Boss of workflow Check")},
			{Op: "add", Pointer: "/workflows/0/nodes/1", Kind: "node", Summary: engine.T("在流程「审核」中新增节点「知会」", "added node Notify to workflow Check")},
		},
	}, {
		name: "removals",
		patch: `[
		  {"op": "remove", "path": "/workflows/0"},
		  {"op": "remove", "path": "/roles/0/permissions/customer"},
		  {"op": "remove", "path": "/forms/0/properties/level"},
		  {"op": "replace", "path": "/forms/0/x-layout/0/fields", "value": ["name"]}
		]`,
		want: []designer.Change{
			{Op: "remove", Pointer: "/forms/0/properties/level", Kind: "field", Summary: engine.T("删除字段「等级」", "removed field Level")},
			{Op: "change", Pointer: "/forms/0/x-layout", Kind: "layout", Summary: engine.T("修改了表单「客户」的布局", "changed the layout of form Customer")},
			{Op: "remove", Pointer: "/roles/0/permissions/customer", Kind: "permission", Summary: engine.T("角色「店员」不再能访问表单 customer", "role Staff no longer has access to form customer")},
			{Op: "remove", Pointer: "/workflows/0", Kind: "workflow", Summary: engine.T("删除流程「审核」", "removed workflow Check")},
		},
	}, {
		name:  "a name changed in one language",
		patch: `[{"op": "replace", "path": "/roles/0/name/en", "value": "Clerk"}]`,
		want: []designer.Change{
			{Op: "change", Pointer: "/roles/0/name", Kind: "role", Summary: engine.T("修改了角色「店员」的名称", "renamed role Staff to Clerk")},
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			des := f.users["des"]
			var d *designer.Draft
			var err error
			if c.patch == "" {
				d, err = f.d.Save(ctx, des, "mini", []byte(miniBundle), 0)
			} else {
				f.publish(t, miniBundle)
				if none, err := f.d.Diff(ctx, des, "mini"); err != nil || len(none.Changes) != 0 || len(none.Impact) != 0 {
					t.Fatalf("diff without a draft: %+v %v", none, err)
				}
				d, err = f.d.Patch(ctx, des, "mini", []byte(c.patch), 0)
			}
			if err != nil || len(d.Problems) != 0 {
				t.Fatalf("draft: %v %+v", err, d)
			}
			got, err := f.d.Diff(ctx, des, "mini")
			if err != nil {
				t.Fatal(err)
			}
			base := 1
			if c.patch == "" {
				base = 0
			}
			if diff := cmp.Diff(&designer.Diff{Changes: c.want, Impact: []designer.Impact{}, Base: base, Published: base}, got); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

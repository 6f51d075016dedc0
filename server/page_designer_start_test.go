package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"

	"formwork/designer"
	"formwork/engine"
)

// sheetFile is an .xlsx workbook whose first sheet holds rows.
func sheetFile(tb testing.TB, rows [][]any) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			tb.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// visitSheet is a small visit log, as a store manager keeps it in Excel.
var visitSheet = [][]any{
	{"客户姓名", "手机号", "到店日期", "消费金额"},
	{"王芳", "13912345678", "2026-03-01", 1200},
	{"李雷", "13787654321", "2026-03-05", 560},
}

// draftOf reads app's draft as the admin, failing the test when it cannot.
func draftOf(t *testing.T, f *harness, app string) map[string]any {
	t.Helper()
	d, err := designer.New(f.svc).Draft(context.Background(), &engine.Principal{User: f.users["admin"]}, app)
	if err != nil {
		t.Fatalf("draft of %s: %v", app, err)
	}
	var b map[string]any
	if err := json.Unmarshal(d.Bundle, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

func appOf(b map[string]any) (key, zh, en string) {
	a, _ := b["app"].(map[string]any)
	n, _ := a["name"].(map[string]any)
	key, _ = a["key"].(string)
	zh, _ = n["zh"].(string)
	en, _ = n["en"].(string)
	return key, zh, en
}

func nameDesigner(tb testing.TB, f *harness, app, user string) {
	tb.Helper()
	admin := &engine.Principal{User: f.users["admin"]}
	if err := designer.New(f.svc).SetDesigners(context.Background(), admin, app, []string{user + "@example.com"}); err != nil {
		tb.Fatal(err)
	}
}

// TestDesignerStartPages starts apps the four ways the home page offers
// and checks each refusal is a readable message on the page (never an
// error page), and that only administrators name an app's designers.
func TestDesignerStartPages(t *testing.T) {
	h := newHarness(t, testConfig())
	snap := h.snapshot(t)
	const denied = "只有系统管理员和该应用的设计者可以设计应用"
	wantApp := func(app, zh, en string) func(t *testing.T, f *harness) {
		return func(t *testing.T, f *harness) {
			t.Helper()
			k, gotZh, gotEn := appOf(draftOf(t, f, app))
			if k != app || gotZh != zh || gotEn != en {
				t.Errorf("draft of %s is app %q named %q/%q, want %q/%q", app, k, gotZh, gotEn, zh, en)
			}
		}
	}
	startSheet := func(t *testing.T, f *harness) {
		admin := &engine.Principal{User: f.users["admin"]}
		if _, _, err := designer.New(f.svc).StartFromSheet(context.Background(), admin, "visits", engine.T("到店记录", "Visits"), "visits.xlsx",
			bytes.NewReader(sheetFile(t, visitSheet))); err != nil {
			t.Fatal(err)
		}
	}
	runPageScenarios(t, h, snap, []pageScenario{
		{name: "home has a card per start", user: "admin", method: "GET", path: "/designer", status: http.StatusOK,
			want: []string{`data-start="blank"`, `data-start="template"`, `data-start="copy"`, `data-start="sheet"`, `data-template="crm"`,
				`data-template="dealership"`, `<option value="shop">`, `enctype="multipart/form-data"`, "客户管理"}},
		{name: "from a template", user: "admin", method: "POST", path: "/designer/start/template",
			form: url.Values{"template": {"crm"}, "key": {"crm2"}}, status: http.StatusSeeOther, location: "/designer/apps/crm2",
			after: wantApp("crm2", "客户管理", "CRM")},
		{name: "from a template with a name", user: "admin", method: "POST", path: "/designer/start/template",
			form: url.Values{"template": {"dealership"}, "key": {"cars"}, "name_zh": {"二店"}}, status: http.StatusSeeOther, location: "/designer/apps/cars",
			after: wantApp("cars", "二店", "二店")},
		{name: "template needs a good key", user: "admin", method: "POST", path: "/designer/start/template",
			form: url.Values{"template": {"crm"}, "key": {"My CRM"}}, status: http.StatusUnprocessableEntity,
			want: []string{`id="dz-tpl-error"`, "应用标识只能包含小写字母", `value="My CRM"`}, not: []string{`id="dz-new-error"`}},
		{name: "template key taken", user: "admin", method: "POST", path: "/designer/start/template",
			form: url.Values{"template": {"crm"}, "key": {"shop"}}, status: http.StatusUnprocessableEntity,
			want: []string{`id="dz-tpl-error"`, "已有同名标识的应用"}},
		{name: "template key taken by a draft", user: "admin", method: "POST", path: "/designer/start/template", before: startSheet,
			form: url.Values{"template": {"crm"}, "key": {"visits"}}, status: http.StatusUnprocessableEntity,
			want: []string{"已有同名标识的应用"}, after: wantApp("visits", "到店记录", "Visits")},
		{name: "template must be chosen", user: "admin", method: "POST", path: "/designer/start/template",
			form: url.Values{"key": {"crm2"}}, status: http.StatusUnprocessableEntity, want: []string{"请选择一个模板"}},
		{name: "staff may not start from a template", user: "staff", method: "POST", path: "/designer/start/template",
			form: url.Values{"template": {"crm"}, "key": {"crm2"}}, status: http.StatusForbidden, want: []string{denied}},
		{name: "template needs the CSRF token", user: "admin", method: "POST", path: "/designer/start/template", noCSRF: true,
			form: url.Values{"template": {"crm"}, "key": {"crm2"}}, status: http.StatusForbidden},
		{name: "a copy", user: "admin", method: "POST", path: "/designer/start/copy",
			form: url.Values{"source": {"shop"}, "key": {"shop2"}}, status: http.StatusSeeOther, location: "/designer/apps/shop2",
			after: func(t *testing.T, f *harness) {
				b := draftOf(t, f, "shop2")
				_, zh, en := appOf(b)
				src := draftOf(t, f, "shop")
				_, szh, sen := appOf(src)
				if zh != szh+" 副本" || en != sen+" (copy)" {
					t.Errorf("copy named %q/%q", zh, en)
				}
				if len(b["forms"].([]any)) != len(src["forms"].([]any)) {
					t.Errorf("copy has %d forms, the original %d", len(b["forms"].([]any)), len(src["forms"].([]any)))
				}
			}},
		{name: "copy key taken", user: "admin", method: "POST", path: "/designer/start/copy",
			form: url.Values{"source": {"shop"}, "key": {"visit"}}, status: http.StatusUnprocessableEntity,
			want: []string{`id="dz-copy-error"`, "已有同名标识的应用", `<option value="shop" selected>`}},
		{name: "copy of an app never published", user: "admin", method: "POST", path: "/designer/start/copy", before: startSheet,
			form: url.Values{"source": {"visits"}, "key": {"visits2"}}, status: http.StatusUnprocessableEntity, want: []string{"还没有发布过，不能复制"}},
		{name: "copy needs a source", user: "admin", method: "POST", path: "/designer/start/copy",
			form: url.Values{"key": {"x"}}, status: http.StatusUnprocessableEntity, want: []string{"请选择要复制的应用"}},
		{name: "staff may not copy shop", user: "staff", method: "POST", path: "/designer/start/copy",
			form: url.Values{"source": {"shop"}, "key": {"mine"}}, status: http.StatusForbidden, want: []string{denied}},
		{name: "a designer of shop may not start another app", user: "manager", method: "POST", path: "/designer/start/copy",
			before: func(t *testing.T, f *harness) { nameDesigner(t, f, "shop", "manager") },
			form:   url.Values{"source": {"shop"}, "key": {"mine"}}, status: http.StatusForbidden, want: []string{denied}},
		{name: "from a sheet", user: "admin", method: "POST", path: "/designer/start/sheet",
			form: url.Values{"key": {"visits"}, "name_zh": {"到店记录"}}, file: &pageFile{"到店.xlsx", sheetFile(t, visitSheet)},
			status: http.StatusSeeOther, location: "/designer/apps/visits/forms/records",
			after: func(t *testing.T, f *harness) {
				b := draftOf(t, f, "visits")
				sd, _ := b["sample_data"].(map[string]any)
				if rows, _ := sd["records"].([]any); len(rows) != 2 {
					t.Errorf("the draft keeps %d rows, want 2", len(rows))
				}
			}},
		{name: "sheet must be a sheet", user: "admin", method: "POST", path: "/designer/start/sheet",
			form: url.Values{"key": {"visits"}, "name_zh": {"到店记录"}}, file: &pageFile{"到店.docx", []byte("PK not a sheet")},
			status: http.StatusUnprocessableEntity, want: []string{`id="dz-sheet-error"`, "请上传 Excel 文件", `value="visits"`}},
		{name: "sheet that does not open", user: "admin", method: "POST", path: "/designer/start/sheet",
			form: url.Values{"key": {"visits"}, "name_zh": {"到店记录"}}, file: &pageFile{"到店.xlsx", []byte("not a workbook")},
			status: http.StatusUnprocessableEntity, want: []string{"无法读取这个 Excel 文件"}},
		{name: "empty sheet", user: "admin", method: "POST", path: "/designer/start/sheet",
			form: url.Values{"key": {"visits"}, "name_zh": {"到店记录"}}, file: &pageFile{"空.xlsx", sheetFile(t, nil)},
			status: http.StatusUnprocessableEntity, want: []string{"表格是空的"}},
		{name: "sheet needs a file", user: "admin", method: "POST", path: "/designer/start/sheet",
			form: url.Values{"key": {"visits"}, "name_zh": {"到店记录"}}, file: &pageFile{"", nil},
			status: http.StatusUnprocessableEntity, want: []string{"请选择要上传的表格文件"}},
		{name: "sheet needs a name", user: "admin", method: "POST", path: "/designer/start/sheet",
			form: url.Values{"key": {"visits"}}, file: &pageFile{"到店.xlsx", sheetFile(t, visitSheet)},
			status: http.StatusUnprocessableEntity, want: []string{"请填写应用名称"}},
		{name: "sheet key taken", user: "admin", method: "POST", path: "/designer/start/sheet",
			form: url.Values{"key": {"shop"}, "name_zh": {"到店记录"}}, file: &pageFile{"到店.xlsx", sheetFile(t, visitSheet)},
			status: http.StatusUnprocessableEntity, want: []string{"已有同名标识的应用"},
			after: func(t *testing.T, f *harness) {
				if _, ok := draftOf(t, f, "shop")["sample_data"].(map[string]any)["records"]; ok {
					t.Error("the sheet replaced shop")
				}
			}},
		{name: "staff may not start from a sheet", user: "staff", method: "POST", path: "/designer/start/sheet",
			form: url.Values{"key": {"visits"}, "name_zh": {"到店记录"}}, file: &pageFile{"到店.xlsx", sheetFile(t, visitSheet)},
			status: http.StatusForbidden, want: []string{denied}},
		{name: "the first publish offers the rows", user: "admin", method: "GET", path: "/designer/apps/visits/publish", before: startSheet,
			status: http.StatusOK, want: []string{`id="dz-sample-data"`, "同时把草稿附带的 2 行数据导入为记录"}},
		{name: "a later publish does not", user: "admin", method: "GET", path: "/designer/apps/shop/publish",
			status: http.StatusOK, not: []string{`id="dz-sample-data"`}},
		{name: "publish with the rows", user: "admin", method: "POST", path: "/designer/apps/visits/publish", before: startSheet,
			form: url.Values{"sample_data": {"1"}}, status: http.StatusSeeOther, location: "/designer/apps/visits/publish?published=1&importing=1"},
		{name: "the publish result says the rows come", user: "admin", method: "GET", path: "/designer/apps/visits/publish?published=1&importing=1",
			before: func(t *testing.T, f *harness) {
				startSheet(t, f)
				admin := &engine.Principal{User: f.users["admin"]}
				if _, err := designer.New(f.svc).Publish(context.Background(), admin, "visits", designer.PublishOptions{}); err != nil {
					t.Fatal(err)
				}
			},
			status: http.StatusOK, want: []string{`id="dz-importing"`, "正在把 2 行数据导入为记录"}},

		{name: "admin sees the designers link", user: "admin", method: "GET", path: "/designer/apps/shop", status: http.StatusOK,
			want: []string{`id="dz-to-preview"`, `href="/designer/apps/shop/preview"`, `id="dz-to-designers"`}},
		{name: "a designer sees no designers link", user: "manager", method: "GET", path: "/designer/apps/shop", status: http.StatusOK,
			before: func(t *testing.T, f *harness) { nameDesigner(t, f, "shop", "manager") },
			want:   []string{`id="dz-to-preview"`}, not: []string{`id="dz-to-designers"`}},
		{name: "designers page", user: "admin", method: "GET", path: "/designer/apps/shop/designers", status: http.StatusOK,
			want: []string{`data-user="manager@example.com"`, `data-user="staff@example.com"`, "还没有指定设计者"}, not: []string{`data-user="admin@example.com"`}},
		{name: "name a designer", user: "admin", method: "POST", path: "/designer/apps/shop/designers",
			form: url.Values{"user": {"manager@example.com"}, "emails": {"analyst@example.com\n"}}, status: http.StatusSeeOther,
			location: "/designer/apps/shop/designers?saved=1",
			after: func(t *testing.T, f *harness) {
				ids, err := designer.New(f.svc).Designers(context.Background(), &engine.Principal{User: f.users["admin"]}, "shop")
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(ids, f.users["manager"].ID) || !slices.Contains(ids, f.users["analyst"].ID) || len(ids) != 2 {
					t.Errorf("designers %v", ids)
				}
			}},
		{name: "the named designer sees the app", user: "manager", method: "GET", path: "/designer",
			before: func(t *testing.T, f *harness) { nameDesigner(t, f, "shop", "manager") },
			status: http.StatusOK, want: []string{`href="/designer/apps/shop"`}},
		{name: "designers page after saving", user: "admin", method: "GET", path: "/designer/apps/shop/designers?saved=1",
			before: func(t *testing.T, f *harness) { nameDesigner(t, f, "shop", "manager") },
			status: http.StatusOK, want: []string{"已保存设计者名单", `data-designer="manager@example.com"`, `value="manager@example.com" checked`}},
		{name: "an unknown designer", user: "admin", method: "POST", path: "/designer/apps/shop/designers",
			form: url.Values{"emails": {"ghost@example.com"}}, status: http.StatusUnprocessableEntity, want: []string{`id="dz-d-error"`, "ghost@example.com"}},
		{name: "a designer may not name designers", user: "manager", method: "POST", path: "/designer/apps/shop/designers",
			before: func(t *testing.T, f *harness) { nameDesigner(t, f, "shop", "manager") },
			form:   url.Values{"emails": {"staff@example.com"}}, status: http.StatusForbidden,
			after: func(t *testing.T, f *harness) {
				ids, _ := designer.New(f.svc).Designers(context.Background(), &engine.Principal{User: f.users["admin"]}, "shop")
				if slices.Contains(ids, f.users["staff"].ID) {
					t.Error("a designer named another")
				}
			}},
		{name: "a designer may not see the designers page", user: "manager", method: "GET", path: "/designer/apps/shop/designers",
			before: func(t *testing.T, f *harness) { nameDesigner(t, f, "shop", "manager") }, status: http.StatusForbidden,
			not: []string{"staff@example.com"}},
		{name: "the roles page counts holders for an admin", user: "admin", method: "GET", path: "/designer/apps/shop/roles", status: http.StatusOK,
			want: []string{`data-holders="{&#34;analyst&#34;:1,&#34;staff&#34;:1,&#34;store_manager&#34;:1}"`, `data-users-url="/admin/users"`, `href="/static/designer/start.css"`}},
		{name: "but not for a designer", user: "manager", method: "GET", path: "/designer/apps/shop/roles", status: http.StatusOK,
			before: func(t *testing.T, f *harness) { nameDesigner(t, f, "shop", "manager") }, not: []string{"data-holders"}},
		{name: "staff may not see the designers page", user: "staff", method: "GET", path: "/designer/apps/shop/designers",
			status: http.StatusForbidden, want: []string{denied}},
	})
}

// TestDesignerPreviewPage previews shop's customer form as roles and users:
// a masked value is masked everywhere in the page and a hidden field is
// absent from it, whichever part of the page would show them.
func TestDesignerPreviewPage(t *testing.T) {
	h := newHarness(t, testConfig())
	snap := h.snapshot(t)
	const base = "/designer/apps/shop/preview"
	asStaff := base + "?form=customer&role=staff&unit=store1"
	runPageScenarios(t, h, snap, []pageScenario{
		{name: "the choice", user: "admin", method: "GET", path: base, status: http.StatusOK,
			want: []string{`id="dz-pv-form"`, `<option value="customer"`, `<option value="staff">店员</option>`, `<option value="store1">`, `id="dz-pv-user"`},
			not:  []string{`id="dz-pv"`}},
		{name: "as staff: phone masked, discount absent", user: "admin", method: "GET", path: asStaff, status: http.StatusOK,
			want: []string{"以「店员 @ 一号店」的身份查看", `data-field="phone"`, "138****8000", "张伟", `id="dz-pv-record"`, "示例记录 1",
				`data-preview="/designer/apps/shop/preview/rules?form=customer&amp;role=staff&amp;unit=store1"`, "可以：新建、查看、修改"},
			not: []string{"13800138000", `data-field="discount"`, "折扣"}},
		{name: "as a real user", user: "admin", method: "GET", path: base + "?form=customer&user=analyst@example.com", status: http.StatusOK,
			want: []string{"以「analyst」的身份查看", "张*", "138****8000"}, not: []string{"13800138000", "张伟", `name="name"`}},
		{name: "typed values shown as the record", user: "admin", method: "POST", path: asStaff,
			form: url.Values{"name": {"刘备"}, "level": {"gold"}, "budget": {"100"}}, status: http.StatusOK,
			want: []string{"你输入的值", "刘备", `data-field="vip_since"`}, not: []string{"13800138000"}},
		{name: "an unknown role", user: "admin", method: "GET", path: base + "?form=customer&role=boss&unit=store1", status: http.StatusUnprocessableEntity,
			want: []string{`id="dz-pv-error"`, "应用中没有角色 boss"}},
		{name: "an unknown user", user: "admin", method: "GET", path: base + "?form=customer&user=ghost@example.com", status: http.StatusUnprocessableEntity,
			want: []string{"没有用户 ghost@example.com"}},
		{name: "staff may not preview", user: "staff", method: "GET", path: asStaff, status: http.StatusForbidden,
			not: []string{"138****8000", "张伟"}},
		{name: "a named designer may", user: "manager", method: "GET", path: asStaff, status: http.StatusOK,
			before: func(t *testing.T, f *harness) { nameDesigner(t, f, "shop", "manager") }, want: []string{"138****8000"}},
		{name: "the rules as staff", user: "admin", method: "POST", path: base + "/rules?form=customer&role=staff&unit=store1",
			form: url.Values{"level": {"gold"}, "budget": {"100"}}, status: http.StatusOK,
			want: []string{`"vip_since":{`, `"final_price"`}, not: []string{`"discount"`}},
	})
}

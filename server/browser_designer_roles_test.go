package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"formwork/designer"
	"formwork/engine"
)

// TestBrowserDesignerRoles works the roles page of shop (published, no
// draft yet) in Chromium: the staff role may now delete customers, the
// analyst's phone goes round from masked to hidden, the store manager's budget
// goes round the cycle back to edit (its default, so nothing is written),
// and a role is added. The stored draft is the published bundle with
// exactly those changes. A change made behind the page's back makes the
// page's next one a conflict: the page loads the other version (a custom
// scope among its changes, shown as condition rows and kept) and says so. Then a
// whole column is set and the new role deleted.
func TestBrowserDesignerRoles(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 2 * time.Minute})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	dz := designer.New(h.svc)
	pub, err := dz.Draft(context.Background(), admin, "shop")
	must(t, "published", err)
	if pub.Version != 0 {
		t.Fatalf("shop has a draft (version %d) before the test", pub.Version)
	}

	step(t, ctx, "open", append(loginAt(srv.URL+"/designer/apps/shop", "admin", "#dz-to-roles"),
		answered(chromedp.Click(chromedp.CSS("#dz-to-roles"))),
		chromedp.WaitVisible(chromedp.CSS(`#roles[data-ready=true] [data-role=analyst]`)),
	)...)
	value := func(sel string) string {
		t.Helper()
		return run(t, ctx, "value "+sel, chromedp.Evaluate[string](`document.querySelector('[data-perm="`+sel+`"]').dataset.value`))
	}
	if v := value("analyst/customer/phone"); v != "masked" {
		t.Fatalf("analyst's phone shows %q, want masked", v)
	}
	if v := value("analyst/customer/level"); v != "read" {
		t.Errorf("analyst's level (from \"*\") shows %q, want read", v)
	}
	if v := value("staff/customer/discount"); v != "hidden" {
		t.Errorf("staff's discount shows %q, want hidden", v)
	}
	if !run(t, ctx, "custom scope", chromedp.Evaluate[bool](`document.querySelector('[data-scope="staff/customer"]').value === 'own'`)) {
		t.Errorf("staff's scope on customer is not own")
	}

	click := func(sel, want string) {
		t.Helper()
		step(t, ctx, "cycle "+sel+" to "+want,
			chromedp.Click(chromedp.CSS(`[data-perm="`+sel+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-perm="`+sel+`"][data-value="`+want+`"]`)),
		)
	}
	step(t, ctx, "staff may delete customers",
		chromedp.Click(chromedp.CSS(`[data-op="staff/customer/delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-op="staff/customer/delete"]:checked`)),
	)
	waitSaved(t, ctx)
	// phone is sensitive: masked → read → edit → hidden
	click("analyst/customer/phone", "read")
	click("analyst/customer/phone", "edit")
	click("analyst/customer/phone", "hidden")
	// budget is not sensitive: hidden → read → edit, no masked
	click("store_manager/customer/budget", "hidden")
	click("store_manager/customer/budget", "read")
	click("store_manager/customer/budget", "edit")
	step(t, ctx, "add a role",
		chromedp.SendKeys(chromedp.CSS("#dz-role-zh"), "收银员"),
		chromedp.SendKeys(chromedp.CSS("#dz-role-en"), "Cashier"),
		chromedp.Click(chromedp.CSS("#dz-role-add")),
		chromedp.WaitVisible(chromedp.CSS(`[data-role=cashier] [data-perm="cashier/customer/phone"]`)),
	)
	waitSaved(t, ctx)
	shootBoth(t, ctx, shots, "designer-roles")

	d, err := dz.Draft(context.Background(), admin, "shop")
	must(t, "draft", err)
	for _, p := range d.Problems {
		t.Errorf("draft problem: %s", p.Message.En)
	}
	var got, exp map[string]any
	must(t, "decode draft", json.Unmarshal(d.Bundle, &got))
	must(t, "decode published", json.Unmarshal(pub.Bundle, &exp))
	roles := exp["roles"].([]any)
	perm := func(i int) map[string]any {
		return roles[i].(map[string]any)["permissions"].(map[string]any)["customer"].(map[string]any)
	}
	staff, analyst := perm(2), perm(3)
	staff["operations"] = append(staff["operations"].([]any), "delete")
	analyst["fields"].(map[string]any)["phone"] = "hidden"
	exp["roles"] = append(roles, map[string]any{"key": "cashier", "name": map[string]any{"zh": "收银员", "en": "Cashier"},
		"permissions": map[string]any{}})
	if diff := cmp.Diff(exp, got); diff != "" {
		t.Errorf("draft against the published bundle with the changes (-want +got):\n%s", diff)
	}

	// someone else changes the draft: the page's next change is refused
	// (409), the page loads their version and says so
	_, err = dz.Patch(context.Background(), admin, "shop", []byte(`[{"op":"replace","path":"/roles/4/name/zh","value":"收款员"},
		{"op":"replace","path":"/roles/3/permissions/customer/scope","value":{"filter":{"level":{"$in":["vip","gold"]}}}}]`), d.Version)
	must(t, "patch behind the page", err)
	step(t, ctx, "conflict",
		chromedp.Click(chromedp.CSS(`[data-op="cashier/customer/read"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.dz-notice:not([hidden])`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-role=cashier] [data-op="cashier/customer/read"]:not(:checked)`)),
	)
	if got := run(t, ctx, "role name", chromedp.Evaluate[string](`document.querySelector('[data-role=cashier] h2').textContent`)); got != "收款员" {
		t.Errorf("after the conflict the role is named %q, want the other change's 收款员", got)
	}
	step(t, ctx, "custom scope as rows", chromedp.WaitVisible(chromedp.CSS(`[data-cond-row="analyst/customer/0"]`)))
	if got := run(t, ctx, "custom scope", chromedp.Evaluate[string](`(() => {
		const s = document.querySelector('[data-scope="analyst/customer"]');
		const q = (a) => document.querySelector('[' + a + '="analyst/customer/0"]').value;
		return s.selectedOptions[0].textContent + ' ' + q('data-cond-field') + ' ' + q('data-cond-op') + ' ' + q('data-cond-value');
	})()`)); got != "自定义条件 level in vip, gold" {
		t.Errorf("the analyst's custom scope shows %q, want it as the condition row level in vip, gold", got)
	}
	if got := run(t, ctx, "notice", chromedp.Evaluate[string](`document.querySelector('.dz-notice').textContent`)); !strings.Contains(got, "其他人刚刚修改了这个应用") {
		t.Errorf("conflict notice %q", got)
	}
	step(t, ctx, "again",
		chromedp.Click(chromedp.CSS(`[data-op="cashier/customer/read"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-op="cashier/customer/read"]:checked`)),
	)
	waitSaved(t, ctx)
	d, err = dz.Draft(context.Background(), admin, "shop")
	must(t, "draft after the conflict", err)
	var after map[string]any
	must(t, "decode", json.Unmarshal(d.Bundle, &after))
	cashier := exp["roles"].([]any)[4].(map[string]any)
	cashier["name"].(map[string]any)["zh"] = "收款员"
	cashier["permissions"] = map[string]any{"customer": map[string]any{"operations": []any{"read"}}}
	analyst["scope"] = map[string]any{"filter": map[string]any{"level": map[string]any{"$in": []any{"vip", "gold"}}}}
	if diff := cmp.Diff(exp, after); diff != "" {
		t.Errorf("draft after the conflict (-want +got):\n%s", diff)
	}

	// the whole column: masked where a field is sensitive, read elsewhere;
	// the analyst's custom scope stays as it is through an operation
	step(t, ctx, "whole column",
		chromedp.SetValue(chromedp.CSS(`[data-column="cashier/customer"]`), "masked"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-column="cashier/customer"]').dispatchEvent(new Event('change'))`),
		chromedp.WaitVisible(chromedp.CSS(`[data-perm="cashier/customer/phone"][data-value=masked]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-perm="cashier/customer/budget"][data-value=read]`)),
		chromedp.Click(chromedp.CSS(`[data-op="analyst/customer/export"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-op="analyst/customer/export"]:checked`)),
	)
	waitSaved(t, ctx)
	d, err = dz.Draft(context.Background(), admin, "shop")
	must(t, "draft after the whole column", err)
	after = nil
	must(t, "decode", json.Unmarshal(d.Bundle, &after))
	cashier["permissions"].(map[string]any)["customer"].(map[string]any)["fields"] = map[string]any{"*": "read", "name": "masked", "phone": "masked"}
	analyst["operations"] = []any{"read", "export"}
	if diff := cmp.Diff(exp, after); diff != "" {
		t.Errorf("draft after the whole column (-want +got):\n%s", diff)
	}

	// deleting the role (confirmed) leaves the other roles as they were
	step(t, ctx, "delete the role",
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS(`[data-delete-role=cashier]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-role=cashier]`)),
	)
	waitSaved(t, ctx)
	d, err = dz.Draft(context.Background(), admin, "shop")
	must(t, "draft after deleting the role", err)
	after = nil
	must(t, "decode", json.Unmarshal(d.Bundle, &after))
	exp["roles"] = exp["roles"].([]any)[:4]
	if diff := cmp.Diff(exp, after); diff != "" {
		t.Errorf("draft after deleting the role (-want +got):\n%s", diff)
	}
	checkConsole(t, console(), "409 (Conflict)") // the conflict the test made
}

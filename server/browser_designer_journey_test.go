package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"formwork/designer"
	"formwork/engine"
	"formwork/engine/workflow"
)

// clickNow clicks the element sel finds at the moment of the click (in the
// page, so a redraw in between cannot leave a stale node).
func clickNow(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => {
		const el = document.querySelector(` + strconv.Quote(sel) + `);
		if (!el) throw new Error("no element " + ` + strconv.Quote(sel) + `);
		el.click();
	})()`)
}

// TestBrowserDesignerJourney is the designer issue's "done when", in real
// Chromium and Chinese, dragging with the mouse: an administrator starts a
// blank app, drags six fields (a select and two numbers among them), sets
// a visibility rule and a formula through the builders, makes two roles
// on the roles page (one sees the phone masked), adds a workflow whose
// condition sends large orders to a 会签 approval by the managers,
// previews the form as the masked role and publishes. Then the clerk
// fills the form, both managers approve from their inboxes, and the
// record ends approved.
func TestBrowserDesignerJourney(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 5 * time.Minute})
	h := newHarness(t, testConfig())
	h.withWorkflows(workflow.Options{})
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()
	bg := context.Background()
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	dz := designer.New(h.svc)
	draft := func() map[string]any {
		t.Helper()
		d, err := dz.Draft(bg, admin, "service")
		must(t, "draft", err)
		var b map[string]any
		must(t, "decode draft", json.Unmarshal(d.Bundle, &b))
		return b
	}

	// 1. a blank app, and six fields dragged onto its form, labelled in Chinese
	step(t, ctx, "login", loginAt(srv.URL+"/designer", "admin", "#dz-new-key")...)
	step(t, ctx, "new app", newApp("service", "维修单", "Service")...)
	label := func(widget, key, zh string) {
		t.Helper()
		dragTo(t, ctx, `[data-widget=`+widget+`]`, "")
		step(t, ctx, "label "+zh, append(append(selectField(key), typeInto("#dz-p-label-zh", zh)...),
			chromedp.WaitVisible(chromedp.CSS(`[data-props][data-for="`+pinyin[zh]+`"]`)))...)
	}
	label("phone", "mobile_phone", "客户电话")
	step(t, ctx, "the phone is sensitive", pick("#dz-p-sensitive", "phone"))
	label("select", "dropdown", "服务类型")
	label("number", "number", "单价")
	label("number", "number", "数量")
	label("textarea", "paragraph", "备注")

	// 2. the rule: 备注 shows only when 服务类型 is 选项2
	step(t, ctx, "rule", append(selectField("bei_zhu"),
		chromedp.Click(chromedp.CSS(`[data-rule=dz-rule-visible] [data-do=rule-add]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-rule=dz-rule-visible] [data-row="0"] [data-cond-field]`)),
		pick(`[data-rule=dz-rule-visible] [data-row="0"] [data-cond-field]`, "fu_wu_lei_xing"),
		chromedp.WaitVisible(chromedp.CSS(`[data-rule=dz-rule-visible] [data-row="0"] select[data-value]`)),
		pick(`[data-rule=dz-rule-visible] [data-row="0"] select[data-value]`, "option_2"))...)
	run(t, ctx, "rule written", chromedp.Poll[bool](`(() => {
		const e = document.querySelector('[data-rule=dz-rule-visible] .dz-rule-error');
		return e && e.hidden;
	})()`, chromedp.WithPollingTimeout(10*time.Second)))

	// 3. the formula: 总价 = 单价 × 数量, from chips, with its live result
	label("formula", "formula", "总价")
	step(t, ctx, "formula",
		chromedp.Click(chromedp.CSS(`[data-formula-builder] [data-chip=dan_jia]`)),
		chromedp.Click(chromedp.CSS(`[data-formula-builder] [data-op="×"]`)),
		chromedp.Click(chromedp.CSS(`[data-formula-builder] [data-chip=shu_liang]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-sample=shu_liang]`)),
	)
	step(t, ctx, "samples", append(typeInto(`[data-sample=dan_jia]`, "500"), typeInto(`[data-sample=shu_liang]`, "3")...)...)
	run(t, ctx, "live result", chromedp.Poll[bool](`document.querySelector('[data-formula-result]').textContent.includes('1500')`, chromedp.WithPollingTimeout(10*time.Second)))
	waitSaved(t, ctx)
	shootBoth(t, ctx, shots, "journey-form")

	// 4. two roles on the roles page: the clerk files orders and sees the
	// phone masked; the manager reads every field
	step(t, ctx, "roles page",
		chromedp.Navigate(srv.URL+"/designer/apps/service"),
		chromedp.WaitVisible(chromedp.CSS("#dz-to-roles")),
		answered(chromedp.Click(chromedp.CSS("#dz-to-roles"))),
		chromedp.WaitVisible(chromedp.CSS(`#roles[data-ready=true]`)),
	)
	addRole := func(zh, en, key string) {
		t.Helper()
		step(t, ctx, "add role "+en, append(append(typeInto("#dz-role-zh", zh), typeInto("#dz-role-en", en)...),
			chromedp.Click(chromedp.CSS("#dz-role-add")),
			chromedp.WaitVisible(chromedp.CSS(`[data-role=`+key+`] [data-perm="`+key+`/service/ke_hu_dian_hua"]`)))...)
	}
	setPerm := func(sel, want string) {
		t.Helper()
		for range 6 {
			if run(t, ctx, "perm "+sel, chromedp.Evaluate[string](`document.querySelector('[data-perm="`+sel+`"]').dataset.value`)) == want {
				return
			}
			step(t, ctx, "cycle "+sel, chromedp.Click(chromedp.CSS(`[data-perm="`+sel+`"]`)))
			waitSaved(t, ctx)
		}
		t.Fatalf("%s never became %s", sel, want)
	}
	setOp := func(role, op string) {
		t.Helper()
		sel := `[data-op="` + role + `/service/` + op + `"]`
		step(t, ctx, role+" may "+op, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(sel+":checked")))
		waitSaved(t, ctx)
	}
	addRole("接待员", "Clerk", "clerk")
	setOp("clerk", "create")
	setOp("clerk", "read")
	for _, k := range []string{"fu_wu_lei_xing", "dan_jia", "shu_liang", "bei_zhu"} {
		setPerm("clerk/service/"+k, "edit")
	}
	setPerm("clerk/service/ke_hu_dian_hua", "masked")
	setPerm("clerk/service/zong_jia", "read")
	addRole("店长", "Manager", "manager")
	setOp("manager", "read")
	for _, k := range []string{"ke_hu_dian_hua", "fu_wu_lei_xing", "dan_jia", "shu_liang", "bei_zhu", "zong_jia"} {
		setPerm("manager/service/"+k, "read")
	}
	shootBoth(t, ctx, shots, "journey-roles")

	// 5. the workflow: orders over 1000 need both managers (会签)
	step(t, ctx, "workflow list",
		chromedp.Navigate(srv.URL+"/designer/apps/service"),
		chromedp.WaitVisible(chromedp.CSS("#dz-to-flows")),
		answered(chromedp.Click(chromedp.CSS("#dz-to-flows"))),
		chromedp.WaitVisible(chromedp.CSS(`#dz-flow-create`)),
	)
	step(t, ctx, "new workflow",
		pick("#dz-flow-form", "service"),
		chromedp.SendKeys(chromedp.CSS("#dz-flow-zh"), "大单审批"),
		chromedp.SendKeys(chromedp.CSS("#dz-flow-en"), "Large orders"),
		answered(chromedp.Click(chromedp.CSS("#dz-flow-create"))),
		chromedp.WaitVisible(chromedp.CSS(`#flow[data-ready=true] [data-node="@trigger"]`)),
	)
	step(t, ctx, "condition",
		chromedp.Click(chromedp.CSS(`[data-add="top:0"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-add-type="top:0/condition"]`)),
		chromedp.Click(chromedp.CSS(`[data-add-type="top:0/condition"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel][data-for=condition] [data-row-field="condition.0/0"]`)),
		pick(`[data-row-field="condition.0/0"]`, "zong_jia"),
		pick(`[data-row-op="condition.0/0"]`, "gt"),
		chromedp.SendKeys(chromedp.CSS(`[data-row-value="condition.0/0"]`), "1000"),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-node-problem^="condition"]`)),
	)
	step(t, ctx, "an approval in the first branch",
		chromedp.Click(chromedp.CSS(`[data-add="condition.0:0"]`)),
		chromedp.Click(chromedp.CSS(`[data-add-type="condition.0:0/approval"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel][data-for=approval] [data-assignees]`)),
	)
	// the panel is drawn again when a save changes the step's problems:
	// each choice waits for its save, and clicks the element it finds then
	// (a node found before a redraw is gone by the time it is clicked)
	settle := func(what, sel, until string) {
		t.Helper()
		waitSaved(t, ctx)
		step(t, ctx, what, clickNow(sel), chromedp.WaitVisible(chromedp.CSS(until)))
	}
	settle("by roles", `[data-panel] [data-assignees] input[value=roles]`, `[data-role-pick=manager]`)
	settle("the managers", `[data-role-pick=manager]`, `[data-role-pick=manager]:checked`)
	waitSaved(t, ctx)
	if run(t, ctx, "clerk picked", chromedp.Evaluate[bool](`document.querySelector('[data-role-pick=clerk]').checked`)) {
		settle("not the clerks", `[data-role-pick=clerk]`, `[data-role-pick=clerk]:not(:checked)`)
	}
	settle("会签", `[data-panel] [data-modes] input[value=all]`, `[data-panel] [data-modes] input[value=all]:checked`)
	waitSaved(t, ctx)
	step(t, ctx, "simulate",
		chromedp.Click(chromedp.CSS(`[data-do=simulate]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-sim-field=dan_jia]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-sim-field=dan_jia]`), "500"),
		chromedp.SendKeys(chromedp.CSS(`[data-sim-field=shu_liang]`), "3"),
		chromedp.Click(chromedp.CSS(`[data-do=run-sim]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-node=approval][data-path=true]`)),
	)
	shootBoth(t, ctx, shots, "journey-flow")
	b := draft()
	wfs, _ := b["workflows"].([]any)
	if len(wfs) != 1 {
		t.Fatalf("the draft has %d workflows", len(wfs))
	}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	must(t, "encode", enc.Encode(wfs[0]))
	wfJSON := buf.String()
	for _, want := range []string{`"mode":"all"`, `"roles":["manager"]`, `"when":"zong_jia > 1000"`, `"type":"condition"`, `"else":true`} {
		if !strings.Contains(string(wfJSON), want) {
			t.Errorf("the saved workflow lacks %s: %s", want, wfJSON)
		}
	}

	// 6. preview as the clerk: the phone (a default value for the preview's
	// sake) masked in the record they would see, and not editable
	step(t, ctx, "a default phone", append(append([]chromedp.Action[chromedp.Void]{
		chromedp.Navigate(srv.URL + "/designer/apps/service/forms/service"),
		chromedp.WaitVisible(chromedp.CSS(`#designer[data-ready=true]`))},
		selectField("ke_hu_dian_hua")...), typeInto("#dz-p-default", "13800138000")...)...)
	waitSaved(t, ctx)
	step(t, ctx, "preview",
		chromedp.Navigate(srv.URL+"/designer/apps/service"),
		chromedp.WaitVisible(chromedp.CSS("#dz-to-preview")),
		answered(chromedp.Click(chromedp.CSS("#dz-to-preview"))),
		chromedp.WaitVisible(chromedp.CSS("#dz-pv-pick")),
		chromedp.SetValue(chromedp.CSS("#dz-pv-form"), "service"),
		chromedp.SetValue(chromedp.CSS("#dz-pv-role"), "clerk"),
		chromedp.SetValue(chromedp.CSS("#dz-pv-unit"), "store1"),
		answered(chromedp.Click(chromedp.CSS("#dz-pv-show"))),
		chromedp.WaitVisible(chromedp.CSS("#dz-pv-form-box")),
		chromedp.SendKeys(chromedp.CSS("#f-dan_jia"), "500"),
		chromedp.SendKeys(chromedp.CSS("#f-shu_liang"), "3"),
		answered(chromedp.Click(chromedp.CSS("#dz-pv-try"))),
		chromedp.WaitVisible(chromedp.CSS("#dz-pv-record")),
	)
	if got := run(t, ctx, "previewed record", chromedp.Text(chromedp.CSS("#dz-pv-record"))); !strings.Contains(got, "138****8000") || strings.Contains(got, "13800138000") {
		t.Errorf("the record the clerk would see shows %q, want the phone masked", got)
	}
	if !run(t, ctx, "phone entered", chromedp.Evaluate[bool](`!!document.querySelector('#dz-pv-form-box [data-field=ke_hu_dian_hua] input')`)) {
		t.Error("the clerk cannot enter the masked phone on a new record in the preview")
	}
	shootBoth(t, ctx, shots, "journey-preview")
	step(t, ctx, "no default phone", append(append([]chromedp.Action[chromedp.Void]{
		chromedp.Navigate(srv.URL + "/designer/apps/service/forms/service"),
		chromedp.WaitVisible(chromedp.CSS(`#designer[data-ready=true]`))},
		selectField("ke_hu_dian_hua")...),
		chromedp.Evaluate[chromedp.Void](`(() => { const d = document.getElementById('dz-p-default'); d.value = ''; d.dispatchEvent(new Event('input', {bubbles: true})); d.dispatchEvent(new Event('change', {bubbles: true})); })()`))...)
	waitSaved(t, ctx)
	if p, _ := draft()["forms"].([]any)[0].(map[string]any)["properties"].(map[string]any)["ke_hu_dian_hua"].(map[string]any); p["default"] != nil {
		t.Errorf("the phone keeps the default %v", p["default"])
	}

	// 7. publish
	step(t, ctx, "publish",
		chromedp.Navigate(srv.URL+"/designer/apps/service/publish"),
		chromedp.WaitVisible(chromedp.CSS("[data-action=publish]")),
		answered(chromedp.Click(chromedp.CSS("[data-action=publish]"))),
		chromedp.WaitVisible(chromedp.CSS("#dz-published")),
	)

	// 8. the admin gives the roles out on the users' pages
	holds := func(user, role string) {
		t.Helper()
		step(t, ctx, user+" holds "+role,
			chromedp.Navigate(srv.URL+"/admin/users/"+h.users[user].ID),
			chromedp.WaitVisible(chromedp.CSS(`form.app-roles[data-app=service]`)),
			chromedp.Click(chromedp.CSS(`form.app-roles[data-app=service] input[value=`+role+`]`)),
			answered(chromedp.Click(chromedp.CSS(`form.app-roles[data-app=service] button[type=submit]`))),
			chromedp.WaitVisible(chromedp.CSS(`form.app-roles[data-app=service] input[value=`+role+`]:checked`)),
		)
	}
	holds("staff", "clerk")
	holds("manager", "manager")
	holds("nobody", "manager")
	checkConsole(t, console())
	designed := len(console())

	// 9. the clerk files a large order
	step(t, ctx, "log out", answered(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`))))
	step(t, ctx, "clerk fills", append(loginAt(srv.URL+"/apps/service/forms/service/new", "staff", "#f-ke_hu_dian_hua"),
		chromedp.SendKeys(chromedp.CSS("#f-ke_hu_dian_hua"), "13800138000"),
		pick("#f-fu_wu_lei_xing", "option_2"),
		chromedp.WaitVisible(chromedp.CSS(`[data-field="bei_zhu"]`)),
		chromedp.SendKeys(chromedp.CSS("#f-bei_zhu"), "换屏"),
		chromedp.SendKeys(chromedp.CSS("#f-dan_jia"), "500"),
		chromedp.SendKeys(chromedp.CSS("#f-shu_liang"), "3"),
		submitted(".actions button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS("#flow-panel")))...)
	recordURL := run(t, ctx, "record url", chromedp.Evaluate[string]("location.pathname"))
	shootBoth(t, ctx, shots, "journey-filed")
	id := recordURL[strings.LastIndex(recordURL, "/")+1:]
	rec, err := h.store.FindRecordByID(bg, "service", "service", id, false)
	must(t, "record", err)
	if rec.Status != engine.StatusInReview || rec.Data["zong_jia"] != 1500.0 {
		t.Fatalf("the filed record: status %s, 总价 %v", rec.Status, rec.Data["zong_jia"])
	}

	// 10. both managers approve from their inboxes; the record is approved
	for i, who := range []string{"manager", "nobody"} {
		step(t, ctx, "log out", answered(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`))))
		step(t, ctx, who+" approves", append(loginAt(srv.URL+"/tasks", who, "a.task-link"),
			answered(chromedp.Click(chromedp.CSS("a.task-link"))),
			chromedp.WaitVisible(chromedp.CSS("#do-approve")),
			answered(chromedp.Click(chromedp.CSS("#do-approve"))),
			chromedp.WaitVisible(chromedp.CSS(".flash")))...)
		rec, err = h.store.FindRecordByID(bg, "service", "service", id, false)
		must(t, "record", err)
		want := engine.StatusInReview
		if i == 1 {
			want = engine.StatusApproved
		}
		if rec.Status != want {
			t.Fatalf("after %s approved: status %s, want %s", who, rec.Status, want)
		}
	}
	step(t, ctx, "log out", answered(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`))))
	step(t, ctx, "the approved record", append(loginAt(srv.URL+recordURL, "staff", "#flow-panel"),
		chromedp.WaitVisible(chromedp.CSS("#flow-panel .step-approved")))...)
	shootBoth(t, ctx, shots, "journey-approved")
	t.Logf("screenshots in %s", shots)
	checkConsole(t, console()[designed:])
}

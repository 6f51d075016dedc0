package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/go-cmp/cmp"

	"formwork/designer"
	"formwork/engine"
)

// TestBrowserDesignerFlow works the workflow designer in Chromium as an
// administrator on shop (published, no draft yet): a new workflow from the
// list, a condition inserted with "+" whose two branches get condition
// rows, a 会签 approval (mode all) for two roles in the first branch, one
// field read-only in its grid (the others editable); a simulation with a
// large discount draws the path through the first branch and names who
// would be asked, a small one the second branch. The saved workflow is
// exactly that JSON and the rest of the bundle is untouched; a change made
// behind the page's back makes its next change a conflict, shown and
// reloaded; then the draft publishes.
func TestBrowserDesignerFlow(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
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
	// flow waits until the saved draft's second workflow satisfies ok, and
	// returns it
	flow := func(what string, ok func(wf map[string]any) bool) map[string]any {
		t.Helper()
		var wf map[string]any
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			d, err := dz.Draft(context.Background(), admin, "shop")
			must(t, "draft", err)
			var b struct {
				Workflows []map[string]any `json:"workflows"`
			}
			must(t, "decode draft", json.Unmarshal(d.Bundle, &b))
			if len(b.Workflows) == 2 {
				wf = b.Workflows[1]
				if ok(wf) {
					return wf
				}
			}
		}
		js, _ := json.Marshal(wf)
		t.Fatalf("%s: the saved workflow is %s", what, js)
		return nil
	}
	branch := func(wf map[string]any, i int) map[string]any {
		nodes, _ := wf["nodes"].([]any)
		if len(nodes) == 0 {
			return nil
		}
		bs, _ := nodes[0].(map[string]any)["branches"].([]any)
		if i >= len(bs) {
			return nil
		}
		return bs[i].(map[string]any)
	}

	step(t, ctx, "open the list", append(loginAt(srv.URL+"/designer/apps/shop", "admin", "#dz-to-flows"),
		answered(chromedp.Click(chromedp.CSS("#dz-to-flows"))),
		chromedp.WaitVisible(chromedp.CSS(`#dz-flow-create`)),
	)...)
	step(t, ctx, "new workflow",
		pick("#dz-flow-form", "customer"),
		chromedp.SendKeys(chromedp.CSS("#dz-flow-zh"), "大额折扣"),
		chromedp.SendKeys(chromedp.CSS("#dz-flow-en"), "Big discount"),
		answered(chromedp.Click(chromedp.CSS("#dz-flow-create"))),
		chromedp.WaitVisible(chromedp.CSS(`#flow[data-ready=true] [data-node="@trigger"]`)),
	)
	if p := run(t, ctx, "address", chromedp.Evaluate[string](`location.pathname`)); p != "/designer/apps/shop/workflows/big_discount" {
		t.Fatalf("the new workflow opened at %s", p)
	}

	step(t, ctx, "insert a condition",
		chromedp.Click(chromedp.CSS(`[data-add="top:0"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-add-type="top:0/condition"]`)),
		chromedp.Click(chromedp.CSS(`[data-add-type="top:0/condition"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-node=condition]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel][data-for=condition] [data-row-field="condition.0/0"]`)),
	)
	// the first branch has no condition yet: the problem shows on it
	step(t, ctx, "problem on the branch", chromedp.WaitVisible(chromedp.CSS(`[data-node-problem="condition.0"]`)))
	if got := run(t, ctx, "problem", chromedp.Evaluate[string](`document.querySelector('[data-node-problem="condition.0"]').textContent`)); !strings.Contains(got, "请为这个分支设置条件") {
		t.Errorf("the branch's problem says %q", got)
	}
	step(t, ctx, "first branch: discount > 0.3",
		pick(`[data-row-field="condition.0/0"]`, "discount"),
		pick(`[data-row-op="condition.0/0"]`, "gt"),
		chromedp.SendKeys(chromedp.CSS(`[data-row-value="condition.0/0"]`), "0.3"),
	)
	flow("first branch's condition", func(wf map[string]any) bool { b := branch(wf, 0); return b != nil && b["when"] == "discount > 0.3" })
	step(t, ctx, "second branch: no longer otherwise, discount <= 0.3",
		chromedp.Click(chromedp.CSS(`[data-otherwise="condition.1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-row-field="condition.1/0"]`)),
		pick(`[data-row-field="condition.1/0"]`, "discount"),
		pick(`[data-row-op="condition.1/0"]`, "le"),
		chromedp.SendKeys(chromedp.CSS(`[data-row-value="condition.1/0"]`), "0.3"),
	)
	flow("second branch's condition", func(wf map[string]any) bool { b := branch(wf, 1); return b != nil && b["when"] == "discount <= 0.3" })
	step(t, ctx, "no problem left on the branches", chromedp.WaitNotPresent(chromedp.CSS(`[data-node-problem^="condition"]`)))

	step(t, ctx, "approval in the first branch",
		chromedp.Click(chromedp.CSS(`[data-add="condition.0:0"]`)),
		chromedp.Click(chromedp.CSS(`[data-add-type="condition.0:0/approval"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-branch="condition.0"] [data-node=approval]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel][data-for=approval] [data-assignees]`)),
		chromedp.Click(chromedp.CSS(`[data-panel] [data-assignees] input[value=roles]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-role-pick=hq_admin]`)),
		chromedp.Click(chromedp.CSS(`[data-role-pick=store_manager]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-role-pick=store_manager]:checked`)),
		chromedp.Click(chromedp.CSS(`[data-panel] [data-modes] input[value=all]`)),
		pick(`[data-fperm="*"]`, "edit"),
		chromedp.WaitVisible(chromedp.CSS(`[data-fperm=discount]`)),
		pick(`[data-fperm=discount]`, "read"),
	)
	waitSaved(t, ctx)
	want := map[string]any{"key": "big_discount", "form": "customer", "name": map[string]any{"zh": "大额折扣", "en": "Big discount"},
		"trigger": map[string]any{"on": []any{"create"}},
		"nodes": []any{map[string]any{"key": "condition", "type": "condition", "name": map[string]any{"zh": "条件分支", "en": "Condition"},
			"branches": []any{
				map[string]any{"name": map[string]any{"zh": "分支 1", "en": "Branch 1"}, "when": "discount > 0.3", "nodes": []any{
					map[string]any{"key": "approval", "type": "approval", "name": map[string]any{"zh": "审批人", "en": "Approver"},
						"assignees": map[string]any{"roles": []any{"hq_admin", "store_manager"}}, "mode": "all",
						"fields": map[string]any{"*": "edit", "discount": "read"}}}},
				map[string]any{"name": map[string]any{"zh": "其他情况", "en": "Otherwise"}, "when": "discount <= 0.3", "nodes": []any{}},
			}}}}
	got := flow("the workflow", func(wf map[string]any) bool { return cmp.Equal(want, wf) })
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("saved workflow (-want +got):\n%s", d)
	}
	d, err := dz.Draft(context.Background(), admin, "shop")
	must(t, "draft", err)
	for _, p := range d.Problems {
		t.Errorf("draft problem at %s: %s", p.Pointer, p.Message.En)
	}
	var all, exp map[string]any
	must(t, "decode draft", json.Unmarshal(d.Bundle, &all))
	must(t, "decode published", json.Unmarshal(pub.Bundle, &exp))
	exp["workflows"] = append(exp["workflows"].([]any), want)
	if d := cmp.Diff(exp, all); d != "" {
		t.Errorf("draft against the published bundle with the new workflow (-want +got):\n%s", d)
	}

	step(t, ctx, "simulate a large discount",
		chromedp.Click(chromedp.CSS(`[data-do=simulate]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-sim-field=discount]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-sim-field=discount]`), "0.4"),
		chromedp.Click(chromedp.CSS(`[data-do=run-sim]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-node=approval][data-path=true]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-sim-step=approval]`)),
	)
	onPath := run(t, ctx, "path", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-flow] [data-path=true]')).map(e => e.dataset.node || e.dataset.branchHead)`))
	if d := cmp.Diff([]string{"@trigger", "condition", "condition.0", "approval"}, onPath); d != "" {
		t.Errorf("path drawn for a large discount (-want +got):\n%s", d)
	}
	asked := run(t, ctx, "asked", chromedp.Evaluate[string](`document.querySelector('[data-sim-step=approval]').textContent`))
	if !strings.Contains(asked, "manager") || !strings.Contains(asked, "会签") {
		t.Errorf("the simulation's approval step says %q, want the store manager and 会签", asked)
	}
	shootBoth(t, ctx, shots, "designer-flow")
	shoot(t, ctx, shots, "designer-flow", 1024)
	must(t, "viewport", chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)))

	step(t, ctx, "simulate a small discount",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-sim-field=discount]').value = ''`),
		chromedp.SendKeys(chromedp.CSS(`[data-sim-field=discount]`), "0.1"),
		chromedp.Click(chromedp.CSS(`[data-do=run-sim]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-branch-head="condition.1"][data-path=true]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-node=approval][data-path]`)),
	)

	// someone else renames the workflow: the page's next change is refused
	// (409), the page loads their version and says so
	_, err = dz.Patch(context.Background(), admin, "shop", []byte(`[{"op":"replace","path":"/workflows/1/name/zh","value":"特批折扣"}]`), d.Version)
	must(t, "patch behind the page", err)
	step(t, ctx, "conflict",
		chromedp.Click(chromedp.CSS(`[data-node=approval]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel][data-for=approval] [data-modes]`)),
		chromedp.Click(chromedp.CSS(`[data-panel] [data-modes] input[value=sequence]`)),
		chromedp.WaitVisible(chromedp.CSS(`.dz-notice:not([hidden])`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel] [data-modes] input[value=all]:checked`)),
	)
	if got := run(t, ctx, "notice", chromedp.Evaluate[string](`document.querySelector('.dz-notice').textContent`)); !strings.Contains(got, "其他人刚刚修改了这个应用") {
		t.Errorf("conflict notice %q", got)
	}
	if got := run(t, ctx, "title", chromedp.Evaluate[string](`document.querySelector('[data-flow-title]').textContent`)); got != "特批折扣" {
		t.Errorf("after the conflict the title is %q, want the other change's 特批折扣", got)
	}
	want["name"].(map[string]any)["zh"] = "特批折扣"
	if got := flow("after the conflict", func(map[string]any) bool { return true }); !cmp.Equal(want, got) {
		t.Errorf("after the conflict (-want +got):\n%s", cmp.Diff(want, got))
	}

	step(t, ctx, "publish",
		chromedp.Navigate(srv.URL+"/designer/apps/shop/publish"),
		chromedp.WaitVisible(chromedp.CSS(`[data-action=publish]`)),
		answered(chromedp.Click(chromedp.CSS(`[data-action=publish]`))),
		chromedp.WaitVisible(chromedp.CSS(`#dz-published`)),
	)
	b, _, err := h.svc.Bundle(context.Background(), "shop", 0)
	must(t, "published bundle", err)
	var found *engine.Workflow
	for _, w := range b.Workflows {
		if w.Key == "big_discount" {
			found = w
		}
	}
	if found == nil || len(found.Nodes) != 1 || len(found.Nodes[0].Branches) != 2 || found.Nodes[0].Branches[0].Nodes[0].Mode != "all" {
		t.Errorf("the published bundle's workflow big_discount: %+v", found)
	}
	checkConsole(t, console(), "409 (Conflict)")
}

// TestBrowserDesignerFlowLossless opens shop's workflow from a draft that
// holds what the page does not show (a description, a hand-written key on
// a node) and works it from the keyboard: the unknown key's problem shows
// on its node in plain words, a condition reads back into rows, durations
// show as hours and days; a step is inserted from the "+" menu and
// deleted, another moved up and back; then one mode and one reminder are
// changed. The saved draft is the one it started from with exactly those
// two changes.
func TestBrowserDesignerFlowLossless(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 2 * time.Minute})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	dz := designer.New(h.svc)
	pub, err := dz.Draft(context.Background(), admin, "shop")
	must(t, "published", err)
	var start map[string]any
	must(t, "decode", json.Unmarshal(pub.Bundle, &start))
	wf := start["workflows"].([]any)[0].(map[string]any)
	wf["description"] = map[string]any{"zh": "大折扣需要审批", "en": "Large discounts need approval"}
	nodes := wf["nodes"].([]any)
	hq := nodes[1].(map[string]any)["branches"].([]any)[0].(map[string]any)["nodes"].([]any)[0].(map[string]any)
	hq["x-note"] = "hand-written"
	d, err := dz.Save(context.Background(), admin, "shop", engine.MustJSON(start), 0)
	must(t, "save the draft", err)
	if len(d.Problems) != 1 || d.Problems[0].Code != "unknown_key" {
		t.Fatalf("problems of the draft: %+v", d.Problems)
	}
	original := string(engine.MustJSON(start))

	step(t, ctx, "open", loginAt(srv.URL+"/designer/apps/shop/workflows/discount_approval", "admin", `#flow[data-ready=true] [data-node=hq]`)...)
	step(t, ctx, "the unknown key's problem on its node", chromedp.WaitVisible(chromedp.CSS(`[data-node-problem=hq]`)))
	page := run(t, ctx, "page text", chromedp.Evaluate[string](`document.getElementById('flow').innerText`))
	if !strings.Contains(page, "有一项设置无法识别") {
		t.Errorf("the page does not say a setting is not recognised:\n%s", page)
	}
	for _, dev := range []string{"x-note", "/workflows", "unknown", "when", "else", "unit_head", "PT4H"} {
		if strings.Contains(page, dev) {
			t.Errorf("the page shows the developer word %q", dev)
		}
	}
	step(t, ctx, "the condition as rows",
		chromedp.Click(chromedp.CSS(`[data-node=route]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-row-value="route.0/0"]`)),
	)
	row := run(t, ctx, "row", chromedp.Evaluate[[]string](`["field", "op", "value"].map(k => document.querySelector('[data-row-' + k + '="route.0/0"]').value)`))
	if d := cmp.Diff([]string{"discount", "gt", "0.3"}, row); d != "" {
		t.Errorf("the condition discount > 0.3 as a row (-want +got):\n%s", d)
	}
	step(t, ctx, "durations",
		chromedp.Click(chromedp.CSS(`[data-node=manager]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel][data-for=manager] [data-duration=remind]`)),
	)
	durs := run(t, ctx, "durations", chromedp.Evaluate[[]string](`["remind", "after"].flatMap(k => [document.querySelector('[data-duration=' + k + ']').value, document.querySelector('[data-duration-unit=' + k + ']').value])`))
	if d := cmp.Diff([]string{"4", "h", "1", "d"}, durs); d != "" {
		t.Errorf("PT4H and PT24H as hours and days (-want +got):\n%s", d)
	}

	// from the keyboard: a CC inserted at the end and deleted, tell_rep
	// moved up above the condition and back
	step(t, ctx, "keyboard insert",
		chromedp.Focus(chromedp.CSS(`[data-add="top:4"]`)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`[data-add-type="top:4/approval"]:focus`)),
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`[data-node=cc]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel][data-for=cc]`)),
	)
	waitSaved(t, ctx)
	step(t, ctx, "keyboard delete",
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Focus(chromedp.CSS(`[data-node=cc]`)),
		chromedp.KeyEvent(kb.Delete),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-node=cc]`)),
	)
	step(t, ctx, "keyboard move",
		chromedp.Focus(chromedp.CSS(`[data-node=tell_rep]`)),
		chromedp.KeyEvent(kb.ArrowUp, chromedp.KeyModifiers(chromedp.ModifierAlt)),
		chromedp.WaitVisible(chromedp.CSS(`[data-list=top] > li:nth-child(5) [data-node=tell_rep]:focus`)),
		chromedp.KeyEvent(kb.ArrowDown, chromedp.KeyModifiers(chromedp.ModifierAlt)),
		chromedp.WaitVisible(chromedp.CSS(`[data-list=top] > li:nth-child(7) [data-node=tell_rep]:focus`)),
	)
	waitSaved(t, ctx)
	d, err = dz.Draft(context.Background(), admin, "shop")
	must(t, "draft", err)
	var got, want any
	must(t, "decode", json.Unmarshal(d.Bundle, &got))
	must(t, "decode", json.Unmarshal([]byte(original), &want))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("after inserting, deleting and moving back (-want +got):\n%s", diff)
	}

	step(t, ctx, "two changes",
		chromedp.Click(chromedp.CSS(`[data-node=hq]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel][data-for=hq] [data-modes]`)),
		chromedp.Click(chromedp.CSS(`[data-panel] [data-modes] input[value=any]`)),
		chromedp.Click(chromedp.CSS(`[data-node=manager]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel][data-for=manager] [data-duration=remind]`)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-duration=remind]').value = ''`),
		chromedp.SendKeys(chromedp.CSS(`[data-duration=remind]`), "2"),
		chromedp.KeyEvent(kb.Tab),
		chromedp.WaitVisible(chromedp.CSS(`[data-node=hq] .dz-fcard-sum`)),
	)
	waitSaved(t, ctx)
	hq["mode"] = "any"
	nodes[0].(map[string]any)["timeout"].(map[string]any)["remind"] = "PT2H"
	must(t, "decode", json.Unmarshal(engine.MustJSON(start), &want))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		d, err = dz.Draft(context.Background(), admin, "shop")
		must(t, "draft", err)
		got = nil
		must(t, "decode", json.Unmarshal(d.Bundle, &got))
		if cmp.Equal(want, got) || time.Now().After(deadline) {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after the two changes (-want +got):\n%s", diff)
	}
	checkConsole(t, console())
}

// TestBrowserDesignerFlowKinds builds, in English, a workflow with every
// other kind of step and setting: a trigger on create and update with a
// condition row, a parallel node whose branches hold a CC to a member
// field and an approval by a named person with a two-day deadline handed
// over to a role, and an action setting a field. The saved workflow is
// exactly that, and a simulation passes every step.
func TestBrowserDesignerFlowKinds(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 2 * time.Minute, Lang: "en-US"})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	dz := designer.New(h.svc)
	_, err := dz.Patch(context.Background(), admin, "shop", []byte(`[{"op":"add","path":"/workflows/-","value":
		{"key":"kinds","form":"customer","name":{"zh":"各种节点","en":"All kinds"},"trigger":{"on":["create"]},"nodes":[]}}]`), 0)
	must(t, "new workflow", err)

	step(t, ctx, "open", loginAt(srv.URL+"/designer/apps/shop/workflows/kinds", "admin", `#flow[data-ready=true] [data-node="@trigger"]`)...)
	step(t, ctx, "trigger",
		chromedp.Click(chromedp.CSS(`[data-node="@trigger"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel][data-for="@trigger"] input[data-on=update]`)),
		chromedp.Click(chromedp.CSS(`input[data-on=update]`)),
	)
	// A save's answer may redraw the flow and the problems (the page
	// moves): a click at where something was waits for the save first,
	// as a person's hand does not outrun it.
	waitSaved(t, ctx)
	step(t, ctx, "trigger condition",
		chromedp.Click(chromedp.CSS(`[data-when] input[value=when]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-row-field="@trigger/0"]`)),
		pick(`[data-row-field="@trigger/0"]`, "level"),
		chromedp.WaitVisible(chromedp.CSS(`select[data-row-value="@trigger/0"]`)),
		pick(`[data-row-value="@trigger/0"]`, "vip"),
	)
	wfOf := func(what string, ok func(wf map[string]any) bool) map[string]any {
		t.Helper()
		var wf map[string]any
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			d, err := dz.Draft(context.Background(), admin, "shop")
			must(t, "draft", err)
			var b struct {
				Workflows []map[string]any `json:"workflows"`
			}
			must(t, "decode draft", json.Unmarshal(d.Bundle, &b))
			if wf = b.Workflows[1]; ok(wf) {
				return wf
			}
		}
		js, _ := json.Marshal(wf)
		t.Fatalf("%s: the saved workflow is %s", what, js)
		return nil
	}
	wfOf("trigger", func(wf map[string]any) bool { return wf["trigger"].(map[string]any)["when"] == `level == "vip"` })

	// on a 1024px touch screen, by finger: every target is large enough
	must(t, "touch screen", chromedp.Do(ctx, chromedp.EmulateViewport(1024, 768, chromedp.EmulateTouch)))
	tapOn(t, ctx, `[data-add="top:0"]`)
	step(t, ctx, "the menu by finger", chromedp.WaitVisible(chromedp.CSS(`[data-add-type="top:0/parallel"]`)))
	small := run(t, ctx, "targets", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#flow button, #flow select, #flow input:not([type=radio]):not([type=checkbox]), #flow label.check'))
		.filter(e => e.offsetParent && e.getBoundingClientRect().height < 40).map(e => e.outerHTML.slice(0, 80))`))
	if len(small) > 0 {
		t.Errorf("targets too small for a finger: %q", small)
	}
	tapOn(t, ctx, `[data-add-type="top:0/parallel"]`)
	step(t, ctx, "parallel", chromedp.WaitVisible(chromedp.CSS(`[data-branch="parallel.1"]`)))
	waitSaved(t, ctx)
	step(t, ctx, "parallel with a CC",
		chromedp.Click(chromedp.CSS(`[data-add="parallel.0:0"]`)),
		chromedp.Click(chromedp.CSS(`[data-add-type="parallel.0:0/cc"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel][data-for=cc] [data-assignees]`)),
	)
	waitSaved(t, ctx)
	step(t, ctx, "CC to a field",
		chromedp.Click(chromedp.CSS(`[data-panel] [data-assignees] input[value=field]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-member-field]`)),
	)
	waitSaved(t, ctx)
	step(t, ctx, "approval by a person with a deadline",
		chromedp.Click(chromedp.CSS(`[data-add="parallel.1:0"]`)),
		chromedp.Click(chromedp.CSS(`[data-add-type="parallel.1:0/approval"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel][data-for=approval] [data-assignees]`)),
	)
	waitSaved(t, ctx)
	step(t, ctx, "approver and deadline",
		chromedp.Click(chromedp.CSS(`[data-panel] [data-assignees] input[value=users]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-users]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-users]`), "manager@example.com"),
		chromedp.KeyEvent(kb.Tab),
		chromedp.SendKeys(chromedp.CSS(`[data-duration=after]`), "2"),
		pick(`[data-duration-unit=after]`, "d"),
		chromedp.WaitVisible(chromedp.CSS(`[data-deadline-action]`)),
		pick(`[data-deadline-action]`, "escalate"),
		chromedp.WaitVisible(chromedp.CSS(`[data-escalate-role=hq_admin]`)),
	)
	// choosing to escalate to nobody yet is a problem the save's answer
	// shows in the panel: below its controls, so they did not move
	waitSaved(t, ctx)
	if below := run(t, ctx, "the node's problem below its controls", chromedp.Evaluate[bool](`(() => {
		const probs = document.querySelector('[data-panel] [data-panel-problems]');
		const role = document.querySelector('[data-escalate-role=hq_admin]');
		return probs.children.length > 0 && role.getBoundingClientRect().bottom <= probs.getBoundingClientRect().top;
	})()`)); !below {
		t.Error("the panel shows no problem for an escalation to nobody, or shows it above the controls")
	}
	step(t, ctx, "escalate to a role", chromedp.Click(chromedp.CSS(`[data-escalate-role=hq_admin]`)))
	waitSaved(t, ctx)
	step(t, ctx, "action",
		chromedp.Click(chromedp.CSS(`[data-add="top:1"]`)),
		chromedp.Click(chromedp.CSS(`[data-add-type="top:1/action"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-panel][data-for=action] [data-set-add]`)),
	)
	waitSaved(t, ctx)
	step(t, ctx, "action sets a field",
		chromedp.Click(chromedp.CSS(`[data-set-add]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-set-field=name]`)),
		pick(`[data-set-field=name]`, "level"),
		chromedp.WaitVisible(chromedp.CSS(`[data-set-expr=level]`)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-set-expr=level]').value = ''`),
		chromedp.SendKeys(chromedp.CSS(`[data-set-expr=level]`), `"gold"`),
		chromedp.KeyEvent(kb.Tab),
	)
	waitSaved(t, ctx)
	want := map[string]any{"key": "kinds", "form": "customer", "name": map[string]any{"zh": "各种节点", "en": "All kinds"},
		"trigger": map[string]any{"on": []any{"create", "update"}, "when": `level == "vip"`},
		"nodes": []any{
			map[string]any{"key": "parallel", "type": "parallel", "name": map[string]any{"zh": "并行分支", "en": "Parallel"}, "branches": []any{
				map[string]any{"name": map[string]any{"zh": "分支 1", "en": "Branch 1"}, "nodes": []any{
					map[string]any{"key": "cc", "type": "cc", "name": map[string]any{"zh": "抄送人", "en": "CC"}, "to": map[string]any{"field": "rep"}}}},
				map[string]any{"name": map[string]any{"zh": "分支 2", "en": "Branch 2"}, "nodes": []any{
					map[string]any{"key": "approval", "type": "approval", "name": map[string]any{"zh": "审批人", "en": "Approver"},
						"assignees": map[string]any{"users": []any{"manager@example.com"}}, "mode": "any",
						"timeout": map[string]any{"after": "P2D", "action": "escalate", "to": map[string]any{"roles": []any{"hq_admin"}}}}}},
			}},
			map[string]any{"key": "action", "type": "action", "name": map[string]any{"zh": "设置字段", "en": "Set fields"}, "set": map[string]any{"level": `"gold"`}},
		}}
	got := wfOf("the workflow", func(wf map[string]any) bool { return cmp.Equal(want, wf) })
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("saved workflow (-want +got):\n%s", d)
	}
	step(t, ctx, "simulate",
		chromedp.Click(chromedp.CSS(`[data-do=simulate]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-sim-field=level]`)),
		pick(`[data-sim-field=level]`, "vip"),
		chromedp.Click(chromedp.CSS(`[data-do=run-sim]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-node=action][data-path=true]`)),
	)
	onPath := run(t, ctx, "path", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-flow] [data-node][data-path=true]')).map(e => e.dataset.node)`))
	if d := cmp.Diff([]string{"@trigger", "parallel", "cc", "approval", "action"}, onPath); d != "" {
		t.Errorf("path (-want +got):\n%s", d)
	}
	sim := run(t, ctx, "simulation", chromedp.Evaluate[string](`document.querySelector('[data-sim-result]').innerText`))
	for _, w := range []string{"asks manager", "Any one", "sets Level"} {
		if !strings.Contains(sim, w) {
			t.Errorf("the simulation does not say %q:\n%s", w, sim)
		}
	}
	if hanRE.MatchString(run(t, ctx, "page", chromedp.Evaluate[string](`document.getElementById('flow').innerText.replace(/中文名称|各种节点/g, '')`))) {
		t.Errorf("the English page shows Chinese text")
	}
	checkConsole(t, console())
}

// tapOn taps the middle of the element sel with a finger.
func tapOn(tb testing.TB, ctx context.Context, sel string) {
	tb.Helper()
	r := run(tb, ctx, "where is "+sel, rectOf(sel))
	x, y := r.X+r.W/2, r.Y+r.H/2
	must(tb, "tap "+sel, chromedp.Do(ctx, fingerDrag(x, y, x, y)))
}

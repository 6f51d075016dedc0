package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"formwork/designer"
	"formwork/engine"
)

// pick chooses value in the select sel as a person's pick does: the value
// changes and the select says so (change, bubbling).
func pick(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const s = document.querySelector(%q);
		if (!s) throw new Error("no select " + %q);
		s.focus();
		s.value = %q;
		s.dispatchEvent(new Event("input", {bubbles: true}));
		s.dispatchEvent(new Event("change", {bubbles: true}));
	})()`, sel, sel, value))
}

// typeInto empties the input sel and types text into it.
func typeInto(sel, text string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ''`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), text),
	}
}

// selectField clicks the field key on the canvas and waits for its
// properties.
func selectField(key string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Click(chromedp.CSS(`[data-canvas] [data-field="` + key + `"] .dz-label`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-props][data-for="` + key + `"] #dz-p-label-zh`)),
	}
}

// TestBrowserDesignerProps drives the properties panel in real Chromium,
// in Chinese: a Chinese label gives a new field its pinyin key, a phone
// preset, a default, a visibility rule built from condition rows, a
// formula built from chips with its live result on sample values, a
// section of two columns and a field dragged into a second section. The
// saved draft holds exactly that (read through the designer package), and
// the published form behaves: the rule hides and shows the field (and its
// section, which holds nothing else), and the phone preset refuses a bad
// number with words staff understand.
func TestBrowserDesignerProps(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()

	step(t, ctx, "login", loginAt(srv.URL+"/designer", "admin", "#dz-new-key")...)
	step(t, ctx, "new app", newApp("service", "维修单", "Service")...)
	// nothing selected: the form's settings (its checks)
	step(t, ctx, "form settings", chromedp.WaitVisible(chromedp.CSS(`[data-props] [data-checks]`)))

	// a Chinese label makes the new field's key, in pinyin, as it is typed
	label := func(widget, key, zh string) {
		t.Helper()
		dragTo(t, ctx, `[data-widget=`+widget+`]`, "")
		step(t, ctx, "label "+zh, append(append(selectField(key), typeInto("#dz-p-label-zh", zh)...),
			chromedp.WaitVisible(chromedp.CSS(`[data-props][data-for="`+pinyin[zh]+`"]`)))...)
	}
	label("text", "text", "客户电话")
	if got := run(t, ctx, "key input", chromedp.Value(chromedp.CSS("#dz-p-key"))); got != "ke_hu_dian_hua" {
		t.Errorf("key shown %q, want ke_hu_dian_hua", got)
	}
	// the phone preset: the staff's words appear, no pattern anywhere
	step(t, ctx, "phone preset",
		pick("#dz-p-preset", "phone"),
		chromedp.WaitVisible(chromedp.CSS(`[data-preset-message]`)),
	)
	panel := run(t, ctx, "panel", chromedp.Text(chromedp.CSS("[data-props]")))
	if !strings.Contains(panel, "11位手机号") || strings.Contains(panel, "[3-9]") {
		t.Errorf("the phone preset shows %q: want the staff's words and no pattern", panel)
	}

	label("select", "dropdown", "服务类型")
	step(t, ctx, "default", pick("#dz-p-default", "option_1"))
	label("number", "number", "单价")
	step(t, ctx, "price default", typeInto("#dz-p-default", "100")...)
	label("number", "number", "数量")
	label("textarea", "paragraph", "备注")

	// a visibility rule from condition rows: 备注 shows when 服务类型 is 选项2
	step(t, ctx, "rule",
		chromedp.Click(chromedp.CSS(`[data-rule=dz-rule-visible] [data-do=rule-add]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-rule=dz-rule-visible] [data-row="0"] [data-cond-field]`)),
		pick(`[data-rule=dz-rule-visible] [data-row="0"] [data-cond-field]`, "fu_wu_lei_xing"),
		chromedp.WaitVisible(chromedp.CSS(`[data-rule=dz-rule-visible] [data-row="0"] select[data-value]`)),
		pick(`[data-rule=dz-rule-visible] [data-row="0"] select[data-value]`, "option_2"),
	)
	run(t, ctx, "rule written", chromedp.Poll[bool](`(() => {
		const e = document.querySelector('[data-rule=dz-rule-visible] .dz-rule-error');
		return e && e.hidden;
	})()`, chromedp.WithPollingTimeout(10*time.Second)))

	// a formula from chips, with its result on sample values
	label("formula", "formula", "总价")
	step(t, ctx, "formula",
		chromedp.Click(chromedp.CSS(`[data-formula-builder] [data-chip=dan_jia]`)),
		chromedp.Click(chromedp.CSS(`[data-formula-builder] [data-op="×"]`)),
		chromedp.Click(chromedp.CSS(`[data-formula-builder] [data-chip=shu_liang]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-sample=shu_liang]`)),
	)
	step(t, ctx, "sample", typeInto(`[data-sample=shu_liang]`, "3")...)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('[data-formula-result]').textContent.includes('300')`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		state := run(t, ctx, "formula state", chromedp.Evaluate[string](`document.querySelector('[data-formula-builder]').outerHTML`))
		t.Fatalf("live result: %v\n%s", err, state)
	}
	if got := run(t, ctx, "formula text", chromedp.Value(chromedp.CSS("#dz-p-formula"))); got != "dan_jia * shu_liang" {
		t.Errorf("formula %q, want dan_jia * shu_liang", got)
	}
	if res := run(t, ctx, "result", chromedp.Text(chromedp.CSS("[data-formula-result]"))); res != "示例结果：300" {
		t.Errorf("live result %q, want 示例结果：300", res)
	}
	waitSaved(t, ctx)
	shootBoth(t, ctx, shots, "designer-formula")

	// sections: the first takes every field, two columns; a second one,
	// and 备注 dragged into it with the mouse
	step(t, ctx, "section",
		chromedp.Click(chromedp.CSS(`[data-do=add-section]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-props][data-section="0"] #dz-s-title-zh`)),
	)
	step(t, ctx, "section title", append(typeInto("#dz-s-title-zh", "基本信息"),
		pick("#dz-s-columns", "2"),
		chromedp.WaitVisible(chromedp.CSS(`[data-canvas] [data-section-head="0"]`)),
		chromedp.Click(chromedp.CSS(`[data-do=add-section]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-props][data-section="1"] #dz-s-title-zh`)))...)
	step(t, ctx, "section 2 title", typeInto("#dz-s-title-zh", "其他")...)
	dragTo(t, ctx, `[data-canvas] [data-field=bei_zhu] .dz-handle`, "")
	order := run(t, ctx, "canvas", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-canvas] > li')).map(e => e.dataset.field || ('#' + e.dataset.sectionHead))`))
	if diff := cmp.Diff([]string{"#0", "ke_hu_dian_hua", "fu_wu_lei_xing", "dan_jia", "shu_liang", "zong_jia", "#1", "bei_zhu"}, order); diff != "" {
		t.Errorf("canvas with sections (-want +got):\n%s", diff)
	}
	head := run(t, ctx, "head", chromedp.Text(chromedp.CSS(`[data-section-head="0"]`)))
	if !strings.Contains(head, "基本信息") || !strings.Contains(head, "2 列") {
		t.Errorf("section head %q: want its title and 2 列", head)
	}
	waitSaved(t, ctx)
	step(t, ctx, "select phone", selectField("ke_hu_dian_hua")...)
	shootBoth(t, ctx, shots, "designer-props")

	// the saved draft, through the designer package
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	dz := designer.New(h.svc)
	d, err := dz.Draft(context.Background(), admin, "service")
	must(t, "draft", err)
	if len(d.Problems) != 0 {
		t.Errorf("the draft has problems: %+v", d.Problems)
	}
	var b struct {
		Forms []struct {
			Properties map[string]map[string]any `json:"properties"`
			Layout     []map[string]any          `json:"x-layout"`
		} `json:"forms"`
	}
	must(t, "decode draft", json.Unmarshal(d.Bundle, &b))
	p := b.Forms[0].Properties
	got := map[string]any{
		"phone pattern":  p["ke_hu_dian_hua"]["pattern"],
		"phone words":    p["ke_hu_dian_hua"]["x-messages"],
		"select default": p["fu_wu_lei_xing"]["default"],
		"price default":  p["dan_jia"]["default"],
		"notes rule":     p["bei_zhu"]["x-visible"],
		"formula":        p["zong_jia"]["x-compute"],
		"layout":         b.Forms[0].Layout,
	}
	want := map[string]any{
		"phone pattern":  "^1[3-9][0-9]{9}$",
		"phone words":    map[string]any{"pattern": map[string]any{"zh": "请填写11位手机号，例如 13800138000", "en": "Enter an 11-digit mobile number, e.g. 13800138000"}},
		"select default": "option_1",
		"price default":  100.0,
		"notes rule":     `fu_wu_lei_xing == "option_2"`,
		"formula":        "dan_jia * shu_liang",
		"layout": []map[string]any{
			{"title": map[string]any{"zh": "基本信息", "en": "Section 1"}, "columns": 2.0, "fields": []any{"ke_hu_dian_hua", "fu_wu_lei_xing", "dan_jia", "shu_liang", "zong_jia"}},
			{"title": map[string]any{"zh": "其他", "en": "Section 2"}, "columns": 1.0, "fields": []any{"bei_zhu"}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("saved draft (-want +got):\n%s", diff)
	}

	// publish, with a role for the staff
	_, err = dz.Patch(context.Background(), admin, "service", []byte(`[{"op":"add","path":"/roles","value":[
		{"key":"clerk","name":{"zh":"接待员","en":"Clerk"},"permissions":{"service":{"operations":["create","read"],"scope":"own"}}}]}]`), d.Version)
	must(t, "add role", err)
	_, err = h.org.SetRoles(context.Background(), engine.AuditActor{ID: engine.SystemActor}, h.users["staff"].ID,
		map[string][]string{"shop": {"staff"}, "visit": {"staff"}, "service": {"clerk"}})
	must(t, "staff role", err)
	_, err = dz.Publish(context.Background(), admin, "service", designer.PublishOptions{})
	must(t, "publish", err)

	checkConsole(t, console())
	designed := len(console())

	// the staff's form: 备注 hidden until 服务类型 is 选项2; a bad phone
	// number is refused in the preset's words
	step(t, ctx, "log out", answered(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`))))
	step(t, ctx, "staff form", append(loginAt(srv.URL+"/apps/service/forms/service/new", "staff", "#f-ke_hu_dian_hua"),
		chromedp.WaitNotVisible(chromedp.CSS(`[data-field="bei_zhu"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`fieldset.section:has([data-field="bei_zhu"])`)),
		pick("#f-fu_wu_lei_xing", "option_2"),
		chromedp.WaitVisible(chromedp.CSS(`[data-field="bei_zhu"]`)),
		pick("#f-fu_wu_lei_xing", "option_1"),
		chromedp.WaitNotVisible(chromedp.CSS(`[data-field="bei_zhu"]`)),
		chromedp.SendKeys(chromedp.CSS("#f-ke_hu_dian_hua"), "12345"),
		chromedp.SendKeys(chromedp.CSS("#f-shu_liang"), "2"))...)
	// the live rules answer before anything is submitted: the phone's
	// error under it, the total 100 × 2 (submitted then also waits for
	// them to settle, as that answer moves the submit button down)
	run(t, ctx, "live answer", chromedp.Poll[bool](`(() => {
		const err = document.querySelector('[data-field="ke_hu_dian_hua"] .field-error');
		const total = document.querySelector('[data-field="zong_jia"] output, [data-field="zong_jia"] input');
		return !!err && err.textContent !== '' && !!total && (total.value || total.textContent).trim() === '200';
	})()`, chromedp.WithPollingTimeout(10*time.Second)))
	step(t, ctx, "submit the bad phone", submitted(".actions button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS("#f-ke_hu_dian_hua-err")))
	msg := run(t, ctx, "phone error", chromedp.Text(chromedp.CSS(`[data-field="ke_hu_dian_hua"] .field-error`)))
	if !strings.Contains(msg, "请填写11位手机号") || strings.Contains(msg, "[") {
		t.Errorf("phone error %q: want the preset's words, no pattern", msg)
	}
	if n := run(t, ctx, "columns", chromedp.Evaluate[int](`document.querySelectorAll('.grid.cols-2').length`)); n != 1 {
		t.Errorf("%d two-column sections on the staff's form, want 1", n)
	}
	shootBoth(t, ctx, shots, "designer-props-staff")
	step(t, ctx, "fixed", append(typeInto("#f-ke_hu_dian_hua", "13800138000"),
		submitted(".actions button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS(".flash")))...)
	t.Logf("screenshots in %s", shots)
	checkConsole(t, console()[designed:], "422 (Unprocessable Entity)") // the bad phone number the test sent
}

// pinyin are the keys the test's Chinese labels make.
var pinyin = map[string]string{"客户电话": "ke_hu_dian_hua", "服务类型": "fu_wu_lei_xing", "单价": "dan_jia", "数量": "shu_liang", "备注": "bei_zhu", "总价": "zong_jia"}

// TestBrowserDesignerRules opens a published app's form (shop) whose
// rules were written by hand: a rule the condition rows can show opens
// as rows, one they cannot opens in advanced mode exactly as written; an
// expression typed in advanced mode that does not compile is explained
// next to the rule in Chinese; a form-level check is added from rows with
// its messages; a relation copies a field, a subform gains a column, a new
// phone field checks phone numbers from the start and a new serial field,
// each dropped into a section, gets its format. The draft is the
// published bundle with exactly those changes.
func TestBrowserDesignerRules(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	dz := designer.New(h.svc)
	pub, err := dz.Draft(context.Background(), admin, "shop")
	must(t, "published", err)
	d, err := dz.Save(context.Background(), admin, "shop", pub.Bundle, 0)
	must(t, "first draft", err)
	const handWritten = `len(name) > 3 && user.unit == 'hq'`
	_, err = dz.Patch(context.Background(), admin, "shop",
		[]byte(`[{"op":"add","path":"/forms/1/properties/vip_since/x-readonly","value":"`+handWritten+`"}]`), d.Version)
	must(t, "hand-written rule", err)

	step(t, ctx, "open", append(loginAt(srv.URL+"/designer/apps/shop/forms/customer", "admin", `#designer[data-ready=true]`),
		selectField("vip_since")...)...)
	const vis, req, ro = `[data-rule=dz-rule-visible]`, `[data-rule=dz-rule-required]`, `[data-rule=dz-rule-readonly]`
	step(t, ctx, "rules shown",
		chromedp.WaitVisible(chromedp.CSS(vis+` [data-row="0"] [data-cond-field]`)),
		chromedp.WaitVisible(chromedp.CSS(req+` [data-row="0"] [data-cond-field]`)),
		chromedp.WaitVisible(chromedp.CSS(ro+` [data-expr]`)),
	)
	rows := run(t, ctx, "visible rows", chromedp.Evaluate[[]string](`(() => {
		const r = document.querySelector('[data-rule=dz-rule-visible] [data-row="0"]');
		return [r.querySelector('[data-cond-field]').value, r.querySelector('[data-cond-op]').value,
			Array.from(r.querySelectorAll('[data-value] input:checked')).map(i => i.parentElement.textContent).join(",")];
	})()`))
	if diff := cmp.Diff([]string{"level", "in", "VIP,金卡"}, rows); diff != "" {
		t.Errorf("visible rule as rows (-want +got):\n%s", diff)
	}
	if got := run(t, ctx, "hand-written", chromedp.Value(chromedp.CSS(ro+` [data-expr]`))); got != handWritten {
		t.Errorf("the hand-written rule shows %q, want %q as written", got, handWritten)
	}
	// advanced mode: the expression; a mistake explained in Chinese; fixed,
	// the rows show it again
	step(t, ctx, "advanced",
		chromedp.Click(chromedp.CSS(vis+` [data-advanced]`)),
		chromedp.WaitVisible(chromedp.CSS(`#dz-rule-visible-expr`)),
	)
	if got := run(t, ctx, "expr", chromedp.Value(chromedp.CSS(`#dz-rule-visible-expr`))); got != "level in ['vip', 'gold']" {
		t.Errorf("advanced mode shows %q", got)
	}
	step(t, ctx, "mistake", append(typeInto(`#dz-rule-visible-expr`, "level == "),
		chromedp.WaitVisible(chromedp.CSS(vis+` .dz-rule-error`)))...)
	if msg := run(t, ctx, "error", chromedp.Text(chromedp.CSS(vis+` .dz-rule-error`))); !hanRE.MatchString(msg) {
		t.Errorf("the rule's error %q is not in Chinese", msg)
	}
	shootBoth(t, ctx, shots, "designer-rule-advanced")
	step(t, ctx, "fixed", append(typeInto(`#dz-rule-visible-expr`, "level == 'vip'"),
		chromedp.WaitNotVisible(chromedp.CSS(vis+` .dz-rule-error`)),
		chromedp.Click(chromedp.CSS(vis+` [data-advanced]`)),
		chromedp.WaitVisible(chromedp.CSS(vis+` [data-row="0"] select[data-value]`)))...)
	if got := run(t, ctx, "row value", chromedp.Value(chromedp.CSS(vis+` [data-row="0"] select[data-value]`))); got != "vip" {
		t.Errorf("the fixed rule's row shows %q, want vip", got)
	}

	// a relation copies the company's name; the contacts get a number
	// column; a new serial number gets its format
	step(t, ctx, "relation", append(selectField("company"),
		chromedp.Click(chromedp.CSS(`[data-do=fill-add]`)),
		pick(`.dz-fill-row select:first-of-type`, "name"),
		pick(`.dz-fill-row select:last-of-type`, "name"))...)
	step(t, ctx, "columns", append(selectField("contacts"),
		chromedp.Click(chromedp.CSS(`[data-do=column-add]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-column=col_3] select`)),
		pick(`[data-column=col_3] select`, "number"))...)
	dragTo(t, ctx, `[data-widget=phone]`, "rep")
	step(t, ctx, "phone field", append(selectField("mobile_phone"), chromedp.WaitVisible(chromedp.CSS(`[data-preset-message]`)))...)
	if v := run(t, ctx, "preset", chromedp.Value(chromedp.CSS(`[data-preset]`))); v != "phone" {
		t.Errorf("a new phone field's validation is %q, want the phone preset", v)
	}
	dragTo(t, ctx, `[data-widget=serial]`, "rep")
	step(t, ctx, "serial", append(append(selectField("serial_number"), typeInto("#dz-p-serial-prefix", "SO-")...),
		pick("#dz-p-serial-date", "YYYYMMDD"),
		pick("#dz-p-serial-per", "unit"))...)
	if ex := run(t, ctx, "example", chromedp.Text(chromedp.CSS(`[data-serial-example]`))); !regexp.MustCompile(`SO-20\d{6}-0001$`).MatchString(ex) {
		t.Errorf("serial example %q", ex)
	}

	// the form's checks: the shipped one as rows, a new one from rows
	step(t, ctx, "checks",
		chromedp.Click(chromedp.CSS(`[data-do=form-settings]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-check="0"] [data-row="1"] [data-cond-field]`)),
		chromedp.Click(chromedp.CSS(`[data-do=check-add]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-check="1"] [data-row="0"] [data-cond-field]`)),
		pick(`[data-check="1"] [data-row="0"] [data-cond-field]`, "budget"),
		pick(`[data-check="1"] [data-row="0"] [data-cond-op]`, "ge"),
		chromedp.SendKeys(chromedp.CSS(`[data-check="1"] [data-row="0"] input[data-value]`), "0"),
	)
	run(t, ctx, "check written", chromedp.Poll[bool](`(() => {
		const e = document.querySelector('[data-check="1"] .dz-rule-error');
		return e && e.hidden;
	})()`, chromedp.WithPollingTimeout(10*time.Second)))
	step(t, ctx, "check messages",
		chromedp.SendKeys(chromedp.CSS(`[data-check="1"] [data-check-msg=zh]`), "预算不能为负数"),
		chromedp.SendKeys(chromedp.CSS(`[data-check="1"] [data-check-msg=en]`), "The budget cannot be negative"),
	)
	waitSaved(t, ctx)
	shootBoth(t, ctx, shots, "designer-checks")

	// the draft: the published bundle with exactly these changes
	d, err = dz.Draft(context.Background(), admin, "shop")
	must(t, "draft", err)
	if len(d.Problems) != 0 {
		t.Errorf("the draft has problems: %+v", d.Problems)
	}
	var got, want map[string]any
	must(t, "decode draft", json.Unmarshal(d.Bundle, &got))
	must(t, "decode published", json.Unmarshal(pub.Bundle, &want))
	cust := want["forms"].([]any)[1].(map[string]any)
	props := cust["properties"].(map[string]any)
	vip := props["vip_since"].(map[string]any)
	vip["x-visible"] = "level == 'vip'"
	vip["x-readonly"] = handWritten
	props["company"].(map[string]any)["x-fill"] = map[string]any{"name": "name"}
	props["contacts"].(map[string]any)["items"].(map[string]any)["properties"].(map[string]any)["col_3"] = map[string]any{
		"type": "number", "x-widget": "number", "x-label": map[string]any{"zh": "单行文本", "en": "Text"}}
	props["serial_number"] = map[string]any{"type": "string", "x-widget": "serial", "x-label": map[string]any{"zh": "流水号", "en": "Serial number"},
		"x-serial": map[string]any{"digits": 4.0, "prefix": "SO-", "date": "YYYYMMDD", "per": "unit"}}
	props["mobile_phone"] = map[string]any{"type": "string", "x-widget": "phone", "x-label": map[string]any{"zh": "手机号", "en": "Mobile phone"},
		"pattern": "^1[3-9][0-9]{9}$", "x-messages": map[string]any{"pattern": map[string]any{"zh": "请填写11位手机号，例如 13800138000", "en": "Enter an 11-digit mobile number, e.g. 13800138000"}}}
	cust["x-layout"].([]any)[1].(map[string]any)["fields"] = []any{"budget", "discount", "final_price", "mobile_phone", "serial_number", "rep", "company"}
	cust["x-checks"] = append(cust["x-checks"].([]any), map[string]any{"expr": "budget >= 0",
		"message": map[string]any{"zh": "预算不能为负数", "en": "The budget cannot be negative"}})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("draft against the published bundle with the changes (-want +got):\n%s", diff)
	}
	checkConsole(t, console())
}

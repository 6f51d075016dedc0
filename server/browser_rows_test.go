package server

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/go-cmp/cmp"
)

// fillLine fills row i (from 0) of the order lines as a person types.
func fillLine(i int, kind, product, qty, price string) []chromedp.Action[chromedp.Void] {
	id := func(col string) string { return fmt.Sprintf("#f-lines-%d-%s", i, col) }
	return []chromedp.Action[chromedp.Void]{
		pick(id("kind"), kind),
		chromedp.SendKeys(chromedp.CSS(id("product")), product),
		chromedp.SendKeys(chromedp.CSS(id("qty")), qty),
		chromedp.SendKeys(chromedp.CSS(id("price")), price),
	}
}

// lineProducts are the products of the rows as the page shows them, in
// order, with the number each row's inputs are named by.
const lineProducts = `Array.from(document.querySelectorAll('[data-rows=lines] tbody tr[data-row]')).map((tr, i) => {
	const p = tr.querySelector('[data-col=product] input');
	return p.name === 'lines.' + i + '.product' ? p.value : 'misnamed ' + p.name;
})`

// storedOrder reads the one order staff sees through the API.
func storedOrder(tb testing.TB, h *harness) map[string]any {
	tb.Helper()
	rec := h.do("GET", ordersPath, "staff", "", nil)
	var out struct {
		Items []struct{ Data map[string]any }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Items) != 1 {
		tb.Fatalf("orders: %v %s", err, rec.Body)
	}
	return out.Items[0].Data
}

// TestBrowserOrderLines fills an order as a clerk would in Chromium: three
// lines added with the mouse and the keyboard, each line's total and the
// order total shown live, a device's serial number asked for on its own
// row, rows moved with the keyboard and by dragging, one removed; the
// server stores the lines in the order shown with its own totals. On a
// phone (390 px, touch) a finger drags a line up and the edit is saved.
func TestBrowserOrderLines(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{})
	h := newHarness(t, testConfig())
	withOrders(t, h)
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	dir := t.TempDir()
	poll := func(what, js string) {
		t.Helper()
		run(t, ctx, what, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(15*time.Second)))
	}
	text := func(sel string) string {
		return strings.TrimSpace(run(t, ctx, sel, chromedp.Text(chromedp.CSS(sel))))
	}

	step(t, ctx, "open the order form", loginAt(srv.URL+"/apps/orders/forms/order/new", "staff", "#f-lines-0-product")...)
	if n := run(t, ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll('[data-rows=lines] tbody tr[data-row]').length`)); n != 1 {
		t.Errorf("a new order shows %d rows, want one to type into", n)
	}
	step(t, ctx, "first line", append([]chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.CSS("#f-customer"), "王先生")},
		fillLine(0, "part", "滤芯", "2", "35.5")...)...)
	poll("line total 1", `document.getElementById('f-lines-0-amount').textContent.trim() === '71'`)

	// a second line by the mouse: a device, whose serial number its row asks for
	step(t, ctx, "second line", append([]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS("[data-rows=lines] [data-row-add]"))},
		fillLine(1, "device", "净水器", "1", "1999")...)...)
	poll("serial shown and asked for on row 2", `(() => {
		const td = document.querySelector('#f-lines-1-serial').closest('td');
		return !td.classList.contains('cell-off') && td.querySelector('.field-error').textContent.includes('第 2 行：请填写序列号');
	})()`)
	if !run(t, ctx, "serial hidden on row 1", chromedp.Evaluate[bool](`document.querySelector('#f-lines-0-serial').closest('td').classList.contains('cell-off')`)) {
		t.Error("a part's serial number is shown")
	}
	step(t, ctx, "serial", chromedp.SendKeys(chromedp.CSS("#f-lines-1-serial"), "SN-001"))
	poll("serial error gone", `document.querySelector('#f-lines-1-serial').closest('td').querySelector('.field-error').textContent === ''`)

	// a third line by the keyboard: Enter on the add button
	step(t, ctx, "third line", append([]chromedp.Action[chromedp.Void]{
		chromedp.Focus(chromedp.CSS("[data-rows=lines] [data-row-add]")),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS("#f-lines-2-product")),
	}, fillLine(2, "part", "龙头", "3", "0.1")...)...)
	poll("order total", `document.getElementById('f-total').textContent.trim() === '2070.3'`)
	if got := []string{text("#f-lines-0-amount"), text("#f-lines-1-amount"), text("#f-lines-2-amount")}; !cmp.Equal(got, []string{"71", "1999", "0.3"}) {
		t.Errorf("line totals %q", got)
	}

	// a fourth line, then removed: the total stays
	step(t, ctx, "fourth line", append([]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS("[data-rows=lines] [data-row-add]"))},
		fillLine(3, "part", "多余", "1", "1000")...)...)
	poll("total with four", `document.getElementById('f-total').textContent.trim() === '3070.3'`)
	step(t, ctx, "remove the fourth", chromedp.Click(chromedp.CSS("[data-rows=lines] tbody tr:nth-child(4) [data-row-remove]")))
	poll("total after removing", `document.getElementById('f-total').textContent.trim() === '2070.3' && document.querySelectorAll('[data-rows=lines] tbody tr[data-row]').length === 3`)

	// move the third line to the top with the keyboard (arrow up twice on its handle)
	step(t, ctx, "keyboard move", chromedp.Focus(chromedp.CSS("[data-rows=lines] tbody tr:nth-child(3) [data-row-drag]")),
		chromedp.KeyEvent(kb.ArrowUp), chromedp.KeyEvent(kb.ArrowUp))
	poll("moved by keyboard", lineProducts+`.join() === '龙头,滤芯,净水器'`)
	// drag the (now) first line below the last with the mouse
	src := run(t, ctx, "handle", rectOf("[data-rows=lines] tbody tr:nth-child(1) [data-row-drag]"))
	dst := run(t, ctx, "last row", rectOf("[data-rows=lines] tbody tr:nth-child(3)"))
	must(t, "mouse drag", chromedp.Do(ctx, mouseDrag(src.X+src.W/2, src.Y+src.H/2, src.X+src.W/2, dst.Y+dst.H-2)))
	poll("moved by the mouse", lineProducts+`.join() === '滤芯,净水器,龙头'`)
	poll("line totals follow their rows", `document.getElementById('f-lines-2-amount').textContent.trim() === '0.3' && document.getElementById('f-total').textContent.trim() === '2070.3'`)

	shootBoth(t, ctx, dir, "order-lines")
	step(t, ctx, "submit", submitted(".actions button[type=submit]"), chromedp.WaitVisible(chromedp.CSS(".flash")))
	got := storedOrder(t, h)
	want := map[string]any{"customer": "王先生", "total": 2070.3, "lines": []any{
		map[string]any{"kind": "part", "product": "滤芯", "qty": 2.0, "price": 35.5, "amount": 71.0},
		map[string]any{"kind": "device", "product": "净水器", "qty": 1.0, "price": 1999.0, "serial": "SN-001", "amount": 1999.0},
		map[string]any{"kind": "part", "product": "龙头", "qty": 3.0, "price": 0.1, "amount": 0.3}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored order (-want +got):\n%s", diff)
	}

	// on a phone: the edit page, a finger drags the second line to the top
	editURL := run(t, ctx, "edit link", chromedp.Evaluate[string](`(document.querySelector('a[href$="/edit"]') || {}).href || ''`))
	if editURL == "" {
		t.Fatal("no edit link on the record page")
	}
	step(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateTouch), chromedp.Navigate(editURL),
		chromedp.WaitVisible(chromedp.CSS("#f-lines-2-product")))
	poll("rows ready", `document.querySelector('[data-rows=lines]').hasAttribute('data-rows-live')`)
	shoot(t, ctx, dir, "order-lines-edit", 390)
	must(t, "viewport", chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateTouch)))
	// the second card's handle low in the window (above the sticky submit
	// bar), the first card's upper half in view above it
	run(t, ctx, "scroll", chromedp.Evaluate[bool](`(() => {
		const h = document.querySelector('[data-rows=lines] tbody tr:nth-child(2) [data-row-drag]');
		window.scrollBy(0, h.getBoundingClientRect().top - (window.innerHeight - 160));
		return true;
	})()`))
	src = run(t, ctx, "handle", rectOf("[data-rows=lines] tbody tr:nth-child(2) [data-row-drag]"))
	dst = run(t, ctx, "first row", rectOf("[data-rows=lines] tbody tr:nth-child(1)"))
	must(t, "finger drag", chromedp.Do(ctx, fingerDrag(src.X+src.W/2, src.Y+src.H/2, src.X+src.W/2, dst.Y+dst.H/2-20)))
	// (the edit page keeps an empty row at the end to type into)
	poll("moved by a finger", lineProducts+`.join() === '净水器,滤芯,龙头,'`)
	step(t, ctx, "save", submitted(".actions button[type=submit]"), chromedp.WaitVisible(chromedp.CSS(".flash")))
	var products []any
	for _, l := range storedOrder(t, h)["lines"].([]any) {
		products = append(products, l.(map[string]any)["product"])
	}
	if diff := cmp.Diff([]any{"净水器", "滤芯", "龙头"}, products); diff != "" {
		t.Errorf("stored lines after the phone edit (-want +got):\n%s", diff)
	}
	checkConsole(t, console())
}

// TestBrowserDesignerColumnFormula: the designer shows a formula column's
// rule and writes a change to it as x-compute on the column, which is
// what the engine evaluates row by row (the draft's preview computes it).
func TestBrowserDesignerColumnFormula(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{})
	h := newHarness(t, testConfig())
	withOrders(t, h)
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	sel := `[data-props] [data-column-compute=amount]`
	step(t, ctx, "open", append(loginAt(srv.URL+"/designer/apps/orders/forms/order", "admin", `#designer[data-ready=true]`),
		append(selectField("lines"), chromedp.WaitVisible(chromedp.CSS(sel)))...)...)
	if got := run(t, ctx, "formula shown", chromedp.Value(chromedp.CSS(sel))); got != "round(qty * price * 100) / 100" {
		t.Errorf("the column's formula reads %q", got)
	}
	step(t, ctx, "change it", typeInto(sel, "qty * price + 1")...)
	waitSaved(t, ctx)

	rec := h.do("GET", "/api/v1/apps/orders/draft", "admin", "", nil)
	var draft struct {
		Bundle struct {
			Forms []struct {
				Properties map[string]struct {
					Items struct{ Properties map[string]map[string]any }
				}
			}
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &draft); err != nil || len(draft.Bundle.Forms) != 1 {
		t.Fatalf("draft: %v %.300s", err, rec.Body)
	}
	if got := draft.Bundle.Forms[0].Properties["lines"].Items.Properties["amount"]["x-compute"]; got != "qty * price + 1" {
		t.Errorf("the draft's column rule is %v", got)
	}
	rec = h.do("POST", "/api/v1/apps/orders/draft/preview", "admin",
		`{"form":"order","as":{"role":"clerk","unit":"hq"},"data":{"customer":"A","lines":[{"product":"a","qty":2,"price":3}]}}`, nil)
	var pv struct{ Data map[string]any }
	if err := json.Unmarshal(rec.Body.Bytes(), &pv); err != nil {
		t.Fatalf("preview: %v %.300s", err, rec.Body)
	}
	lines, _ := pv.Data["lines"].([]any)
	if len(lines) != 1 || lines[0].(map[string]any)["amount"] != 7.0 || pv.Data["total"] != 7.0 {
		t.Errorf("the draft's preview computes %v", pv.Data)
	}
	checkConsole(t, console())
}

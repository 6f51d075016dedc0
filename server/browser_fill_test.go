package server

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"formwork/engine"
)

// TestBrowserFillOnPick drives real Chromium through a new order: a clerk,
// who sees customers' phones masked, picks a customer with the picker and
// sees the contact phone and address fill in masked (as the fields'
// placeholders, with a note; the fields stay empty to type into), and the
// level in full; the page holds the full number nowhere and the saved
// order keeps no phone. The boss picking the same customer gets
// the phone in full, and it is saved. Screenshots in Chinese at 1280 px
// and 390 px.
func TestBrowserFillOnPick(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 6 * time.Minute})
	w := newFillWorld(t)
	srv := httptest.NewServer(w.e)
	defer srv.Close()
	newOrder := srv.URL + "/apps/sales/forms/order/new"
	pickCustomer := func(who string) {
		t.Helper()
		must(t, who+" opens a new order", chromedp.Do(ctx,
			chromedp.Navigate(newOrder),
			chromedp.WaitVisible(chromedp.CSS(`#f-customer[role=combobox]`)),
			chromedp.Click(chromedp.CSS("#f-customer")),
			chromedp.SendKeys(chromedp.CSS("#f-customer"), "王"),
		))
		run(t, ctx, who+": the customer is offered", chromedp.Poll[bool](`(function(){var o=document.querySelectorAll('#f-customer-list li[role=option]'); return o.length===1 && o[0].textContent.indexOf('王芳')===0})()`,
			chromedp.WithPollingTimeout(15*time.Second)))
		must(t, who+" takes it", chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter)))
	}
	login := func(who string) {
		t.Helper()
		must(t, "log in as "+who, chromedp.Do(ctx,
			chromedp.Navigate(srv.URL+"/login"),
			chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), who+"@example.com"),
			chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
			answered(chromedp.Click(chromedp.CSS("form button[type=submit]"))),
			chromedp.WaitVisible(chromedp.CSS(`a[href="/apps/sales/forms/order/new"]`)),
		))
	}
	masked := engine.Mask("address", fillAddr).(string)

	login("clerk")
	pickCustomer("the clerk")
	// masked: shown as the field's placeholder, the field left empty
	run(t, ctx, "the phone fills in masked", chromedp.Poll[bool](`(function(){var p=document.querySelector('[name=contact_phone]'); return p.placeholder==='138****8000' && p.value==='' && !p.readOnly})()`,
		chromedp.WithPollingTimeout(15*time.Second)))
	if v := run(t, ctx, "address", chromedp.Evaluate[string](`(function(){var a=document.querySelector('[name=ship_address]'); return a.placeholder + '|' + a.value})()`)); v != masked+"|" {
		t.Errorf("address shows %q (placeholder|value), want the masked %q and no value", v, masked)
	}
	if v := run(t, ctx, "level", chromedp.Value(chromedp.CSS("[name=level]"))); v != "vip" {
		t.Errorf("level filled as %q, want vip (the clerk reads it in full)", v)
	}
	note := run(t, ctx, "note", chromedp.Text(chromedp.CSS(`[data-field="contact_phone"] .fill-note`)))
	if !strings.Contains(note, "不会带入本记录") {
		t.Errorf("the masked phone's note reads %q, want it to say it is not copied", note)
	}
	html := run(t, ctx, "page", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	for _, s := range []string{fillPhone, fillAddr} {
		if strings.Contains(html, s) {
			t.Errorf("the clerk's page holds %q", s)
		}
	}
	dir := t.TempDir()
	shootBoth(t, ctx, dir, "fill-masked")
	must(t, "the clerk saves the order", chromedp.Do(ctx,
		submitted(".actions button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	))
	values := run(t, ctx, "the saved order", chromedp.Text(chromedp.CSS("dl.values")))
	if !strings.Contains(values, "SO-") || !strings.Contains(values, "vip") || strings.Contains(values, fillPhone) {
		t.Errorf("the clerk's saved order shows %q: want its number and the level, no phone", values)
	}
	clerkOrders := w.ordersOf(t, "clerk")
	if len(clerkOrders) != 1 || clerkOrders[0]["contact_phone"] != nil || clerkOrders[0]["ship_address"] != nil || clerkOrders[0]["level"] != "vip" {
		t.Errorf("the clerk's order as stored: %v; want no phone, no address, level vip", clerkOrders)
	}

	must(t, "the clerk logs out", chromedp.Do(ctx, answered(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))))
	login("boss")
	pickCustomer("the boss")
	run(t, ctx, "the phone fills in full", chromedp.Poll[bool](`(function(){var p=document.querySelector('[name=contact_phone]'); return p.value==='`+fillPhone+`' && !p.readOnly})()`,
		chromedp.WithPollingTimeout(15*time.Second)))
	must(t, "the boss saves the order", chromedp.Do(ctx,
		submitted(".actions button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	))
	bossOrders := w.ordersOf(t, "boss")
	if len(bossOrders) != 1 || bossOrders[0]["contact_phone"] != fillPhone || bossOrders[0]["ship_address"] != fillAddr {
		t.Errorf("the boss's order as stored: %v; want the customer's phone and address", bossOrders)
	}
	checkConsole(t, console())
}

// ordersOf returns the data of the orders user owns, as stored.
func (w *fillWorld) ordersOf(t *testing.T, user string) []map[string]any {
	t.Helper()
	list, err := w.svc.ListRecords(context.Background(), &engine.Principal{User: w.users["admin"]}, "sales", "order", engine.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, r := range list.Items {
		if r.Owner == w.users[user].ID {
			out = append(out, r.Data)
		}
	}
	return out
}

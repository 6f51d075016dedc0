package server

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"formwork/engine"
)

// TestBrowserRecordEditUpload drives real Chromium through a record's
// pages: open the record, edit it from its page (the payee chosen with
// the picker by keyboard), attach an image with the file input, save, and
// see the new values and the image's thumbnail (loaded through the
// permission-checked download) on the record page.
func TestBrowserRecordEditUpload(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 6 * time.Minute, Lang: "en-US"})
	h := docsHarness(t)
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	r, err := h.svc.CreateRecord(context.Background(), &engine.Principal{User: h.users["clerk"]}, "docs", "claim",
		map[string]any{"title": "Taxi", "amount": 35.0})
	if err != nil {
		t.Fatal(err)
	}
	pic := filepath.Join(t.TempDir(), "receipt.png")
	must(t, "write image", os.WriteFile(pic, testPNG(t, 64, 48), 0o644))
	recURL := srv.URL + "/apps/docs/forms/claim/records/" + r.ID

	must(t, "login", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "clerk@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		answered(chromedp.Click(chromedp.CSS("form button[type=submit]"))),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/apps/docs/forms/claim/new"]`)),
	))
	must(t, "open the edit page from the record", chromedp.Do(ctx,
		chromedp.Navigate(recURL),
		chromedp.WaitVisible(chromedp.CSS(`.record-actions a[href$="/edit"]`)),
		answered(chromedp.Click(chromedp.CSS(`.record-actions a[href$="/edit"]`))),
		chromedp.WaitVisible(chromedp.CSS("#f-title")),
	))
	if v := run(t, ctx, "stored title", chromedp.Value(chromedp.CSS("#f-title"))); v != "Taxi" {
		t.Errorf("edit page title %q, want the stored Taxi", v)
	}
	// the picker: type, move with the arrow key, take with Enter
	must(t, "pick the payee", chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`#f-payee[role=combobox]`)),
		chromedp.Click(chromedp.CSS("#f-payee")),
		chromedp.SendKeys(chromedp.CSS("#f-payee"), "clerk2"),
	))
	run(t, ctx, "picker list", chromedp.Poll[bool](`(function(){var o=document.querySelectorAll('#f-payee-list li[role=option]'); return o.length===1 && o[0].textContent.indexOf('clerk2-name')===0})()`,
		chromedp.WithPollingTimeout(15*time.Second)))
	must(t, "take the payee by keyboard", chromedp.Do(ctx,
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.KeyEvent(kb.ArrowUp),
		chromedp.KeyEvent(kb.Enter),
	))
	if v := run(t, ctx, "payee value", chromedp.Evaluate[string](`document.querySelector('input[name=payee]').value`)); v != h.users["clerk2"].ID {
		t.Errorf("picked payee %q, want clerk2's id", v)
	}
	must(t, "edit and attach", chromedp.Do(ctx,
		chromedp.Clear(chromedp.CSS("#f-title")),
		chromedp.SendKeys(chromedp.CSS("#f-title"), "Taxi to the airport"),
		chromedp.SetUploadFiles(chromedp.CSS("#f-photos"), []string{pic}),
		submitted(".actions button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
		chromedp.WaitVisible(chromedp.CSS(`img.thumb[alt="receipt.png"]`)),
	))
	loaded := run(t, ctx, "thumbnail loaded", chromedp.Poll[bool](`(function(){var i=document.querySelector('img.thumb'); return !!i && i.complete && i.naturalWidth === 64})()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if !loaded {
		t.Error("the thumbnail did not load")
	}
	values := run(t, ctx, "values", chromedp.Text(chromedp.CSS("dl.values")))
	for _, w := range []string{"Taxi to the airport", "clerk2-name", "receipt.png"} {
		if !strings.Contains(values, w) {
			t.Errorf("record page values lack %q: %q", w, values)
		}
	}
	got, err := h.svc.GetRecord(context.Background(), &engine.Principal{User: h.users["clerk"]}, "docs", "claim", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Data["amount"] != 35.0 || len(got.Data["photos"].([]any)) != 1 {
		t.Errorf("stored after the edit: version %d, %v", got.Version, got.Data)
	}
	for _, m := range console() {
		if strings.Contains(m, "Content Security Policy") || strings.HasPrefix(m, "exception") {
			t.Errorf("browser console: %s", m)
		}
	}
}

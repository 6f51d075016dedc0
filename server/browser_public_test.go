package server

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"formwork/engine"
)

// TestBrowserPublicFormFromQR: an administrator opens the visit list,
// follows its 公开链接 button and makes a link whose records belong to
// store 1 and the staff member; the page shows the QR code. The test reads
// the QR code's PNG as a phone's camera would and a customer, in a browser
// of their own (no cookies) at 390 px with touch, opens the address it
// holds, signs up for a test drive (the plate appears when they tick "by
// car", by the live rules) and sends it; they read the thank-you. The
// record is the staff member's in store 1, audited with the customer's
// address. The administrator revokes the link; the customer's reload says
// the link no longer works. Screenshots at 1280 and 390 px, in Chinese.
func TestBrowserPublicFormFromQR(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()

	step(t, ctx, "login", loginAt(srv.URL+"/apps/visit/forms/visit", "admin", "#list-public")...)
	step(t, ctx, "make the link",
		answered(chromedp.Click(chromedp.CSS("#list-public"))),
		chromedp.WaitVisible(chromedp.CSS("#public-make-form")),
		pick("#pl-unit", "store1"),
		chromedp.SendKeys(chromedp.CSS("#pl-owner"), "staff@example.com"),
		answered(chromedp.Click(chromedp.CSS("#public-make"))),
		chromedp.WaitVisible(chromedp.CSS("#public-qr")),
	)
	if flash := run(t, ctx, "flash", chromedp.Text(chromedp.CSS(".flash"))); flash != "公开链接已生成。" {
		t.Errorf("flash %q", flash)
	}
	fields := run(t, ctx, "fields", chromedp.Text(chromedp.CSS("#public-fields")))
	for _, want := range []string{"来访人", "手机号", "车牌号"} {
		if !strings.Contains(fields, want) {
			t.Errorf("the page says the public fills %q, lacking %s", fields, want)
		}
	}
	shootBoth(t, ctx, shots, "public-link")
	src := run(t, ctx, "qr", chromedp.AttributeValue(chromedp.CSS("#public-qr"), "src"))
	link := decodeQR(t, src.Value)
	if shown := run(t, ctx, "url", chromedp.Text(chromedp.CSS("#public-url"))); link != shown || !strings.HasPrefix(link, srv.URL+"/f/") {
		t.Fatalf("the QR code holds %q; the page shows %q", link, shown)
	}

	// the customer: a browser of their own, on a phone
	phone, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	// the first action on a context opens its tab, which lives as long as
	// that action's context: open it on phone itself, not under step's timeout
	must(t, "open the customer's browser", chromedp.Do(phone))
	var mu sync.Mutex
	var phoneLog []string
	go func() {
		for m, err := range chromedp.Console(phone) {
			if err != nil {
				return
			}
			mu.Lock()
			phoneLog = append(phoneLog, string(m.Type)+": "+m.Text)
			mu.Unlock()
		}
	}()
	step(t, phone, "open the link from the QR code",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#f-guest")),
		chromedp.WaitNotVisible(chromedp.CSS(`[data-field="plate"]`)),
	)
	if user := run(t, phone, "no user", chromedp.Evaluate[int](`document.querySelectorAll('.who, #nav-tasks').length`)); user != 0 {
		t.Errorf("the customer's page shows a signed-in user")
	}
	if ok := run(t, phone, "width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)); !ok {
		t.Errorf("the public form scrolls sideways at 390px")
	}
	step(t, phone, "fill in",
		chromedp.SendKeys(chromedp.CSS("#f-guest"), "李女士"),
		chromedp.SendKeys(chromedp.CSS("#f-phone"), "13800138000"),
		settled(),
		chromedp.Click(chromedp.CSS("#f-purpose-1")),
		settled(),
		chromedp.Click(chromedp.CSS("#f-by_car")),
		chromedp.WaitVisible(chromedp.CSS(`[data-field="plate"]`)),
		chromedp.SendKeys(chromedp.CSS("#f-plate"), "沪A88888"),
		chromedp.WaitVisible(chromedp.CSS(`form[data-ready="true"]`)),
	)
	shootBoth(t, phone, shots, "public-form")
	step(t, phone, "send",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch),
		submitted(".actions button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS("#public-message.public-done")),
	)
	if thanks := run(t, phone, "thanks", chromedp.Text(chromedp.CSS("#public-message h1"))); thanks != "提交成功，谢谢！" {
		t.Errorf("thank-you heading %q", thanks)
	}
	shootBoth(t, phone, shots, "public-thanks")

	page, err := h.store.FindRecords(context.Background(), engine.RecordQuery{App: "visit", Form: "visit", Limit: 10})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("visits after the customer sent the form: %v %v", page, err)
	}
	r := page.Items[0]
	if r.Data["guest"] != "李女士" || r.Data["plate"] != "沪A88888" || r.Data["purpose"] != "test_drive" || r.Unit != "store1" || r.Owner != h.users["staff"].ID {
		t.Errorf("the record: unit %s owner %s data %v", r.Unit, r.Owner, r.Data)
	}
	ev, err := h.store.FindAuditEvents(context.Background(), engine.AuditQuery{Object: r.ID, Action: "create"})
	if err != nil || len(ev.Items) != 1 || !strings.HasPrefix(ev.Items[0].Actor, "public:") || ev.Items[0].IP == "" {
		t.Errorf("the submission's audit event: %+v %v", ev, err)
	}

	// revoked: the customer's next look says so
	step(t, ctx, "revoke",
		chromedp.EmulateViewport(1280, 900),
		answered(chromedp.Click(chromedp.CSS("#public-revoke"))),
		chromedp.WaitVisible(chromedp.CSS("#public-make-form")),
	)
	step(t, phone, "reload after revoking",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`#public-message[data-status="404"]`)),
	)
	if gone := run(t, phone, "gone", chromedp.Text(chromedp.CSS("#public-message h1"))); gone != "链接已失效" {
		t.Errorf("a revoked link reads %q", gone)
	}
	shoot(t, phone, shots, "public-revoked", 390)
	checkConsole(t, console())
	mu.Lock()
	defer mu.Unlock()
	checkConsole(t, phoneLog, "status of 404") // the revoked link's page
}

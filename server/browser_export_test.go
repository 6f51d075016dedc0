package server

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"formwork/engine"
	"formwork/engine/queue"
	"formwork/exchange"
)

// background runs the real background machinery for h, as `formwork
// serve` does on the embedded default: the embedded queue, a worker with
// the export handlers and the outbox relay. It stops when the test ends.
func background(tb testing.TB, h *harness) {
	tb.Helper()
	emb, err := queue.StartEmbedded(queue.EmbeddedOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w := queue.NewWorker(emb.ConnOpt(), h.store, queue.WorkerOptions{Logger: log, ShutdownTimeout: time.Second})
	w.Handle(engine.JobRecordExport, exchange.NewExporter(h.svc).HandleExportJob)
	w.Handle(engine.JobExportExpire, h.svc.HandleExportExpireJob)
	if err := w.Start(); err != nil {
		emb.Close()
		tb.Fatal(err)
	}
	client := queue.NewClient(emb.ConnOpt())
	r := queue.NewRelay(h.store, client, queue.RelayOptions{Interval: 100 * time.Millisecond, Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
		w.Shutdown()
		_ = client.Close()
		emb.Close()
	})
}

// testWriter sends the background's warnings to the test log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestBrowserExport: a store clerk exports their customers from the list
// page in Chromium — the list's search comes along, a column is left out,
// the progress page's bar runs to the end through the real queue and
// worker, and the file downloads with the masked phone and without the
// column left out.
func TestBrowserExport(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	exportShop(t, h, nil, nil)
	staff := &engine.Principal{User: h.users["staff"], IP: "127.0.0.1"}
	for i := range 40 {
		name := "顾客" + string(rune('甲'+i%10))
		if i%2 == 0 {
			name = "会员" + name
		}
		if _, err := h.svc.CreateRecord(context.Background(), staff, "shop", "customer", map[string]any{"name": name, "phone": "13912345678", "level": "vip"}); err != nil {
			t.Fatal(err)
		}
	}
	background(t, h)
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()

	step(t, ctx, "login", loginAt(srv.URL+"/apps/shop/forms/customer?q=会员", "staff", "#list-export")...)
	step(t, ctx, "export page",
		answered(chromedp.Click(chromedp.CSS("#list-export"))),
		chromedp.WaitVisible(chromedp.CSS("#exp-form")),
	)
	if sel := run(t, ctx, "selection", chromedp.Text(chromedp.CSS("#exp-selection"))); !strings.Contains(sel, "会员") {
		t.Errorf("the export page does not say the list's search: %q", sel)
	}
	shootBoth(t, ctx, shots, "export-form")
	step(t, ctx, "export",
		chromedp.Click(chromedp.CSS(`#exp-columns input[value=level]`)),
		answered(chromedp.Click(chromedp.CSS("#exp-submit"))),
		chromedp.WaitVisible(chromedp.CSS("#exp-bar")),
	)
	shoot(t, ctx, shots, "export-progress-start", 1280)
	step(t, ctx, "done", chromedp.WaitVisible(chromedp.CSS("#exp-download")))
	if v := run(t, ctx, "bar", chromedp.Evaluate[float64](`document.getElementById('exp-bar').value`)); v != 100 {
		t.Errorf("the bar ends at %v", v)
	}
	if st := run(t, ctx, "state", chromedp.Text(chromedp.CSS("#exp-state"))); st != "已完成" {
		t.Errorf("the state reads %q", st)
	}
	if rows := run(t, ctx, "rows", chromedp.Text(chromedp.CSS("#exp-rows"))); rows != "20 / 20 条记录" {
		t.Errorf("the rows read %q", rows)
	}
	shootBoth(t, ctx, shots, "export-done")
	// the file, as the page's link downloads it (the browser's session)
	file := run(t, ctx, "download", chromedp.Evaluate[string](`(async () => {
		const res = await fetch(document.getElementById('exp-download').href);
		if (!res.ok) throw new Error("download " + res.status);
		const buf = new Uint8Array(await res.arrayBuffer());
		return Array.from(buf, (b) => String.fromCharCode(b)).join("");
	})()`, chromedp.EvalAwaitPromise))
	all := unzipped(t, []byte(latin1(file)))
	if !strings.Contains(all, "139****5678") || strings.Contains(all, "13912345678") || strings.Contains(all, "VIP") || strings.Count(all, "会员顾客") < 20 {
		t.Errorf("the downloaded file: masked phone %v, clear phone %v, level %v, members %d",
			strings.Contains(all, "139****5678"), strings.Contains(all, "13912345678"), strings.Contains(all, "VIP"), strings.Count(all, "会员顾客"))
	}
	step(t, ctx, "my exports",
		chromedp.Navigate(srv.URL+"/exports"),
		chromedp.WaitVisible(chromedp.CSS("#exports [data-export]")),
	)
	shootBoth(t, ctx, shots, "exports")
	t.Logf("screenshots in %s", shots)
	checkConsole(t, console())
}

// latin1 turns a string of byte-valued characters back into its bytes.
func latin1(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return string(b)
}

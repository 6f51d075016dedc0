package server

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"formwork/engine"
	"formwork/engine/workflow"
	"formwork/exchange"
)

// exportShop publishes the shop app again with the store staff allowed to
// export customers under rule (nil: no approval), and with the app's
// export settings app (nil: none).
func exportShop(tb testing.TB, h *harness, rule, app map[string]any) {
	tb.Helper()
	republishShop(tb, h, func(b, staff map[string]any) {
		if app != nil {
			b["app"].(map[string]any)["export"] = app
		}
		perm := staff["customer"].(map[string]any)
		perm["operations"] = []any{"create", "read", "update", "export"}
		if rule != nil {
			perm["export"] = rule
		}
	})
}

// exportOf reads an export through the API as user.
func exportOf(tb testing.TB, h *harness, user, id string) exportJSON {
	tb.Helper()
	res := h.do("GET", "/api/v1/exports/"+id, user, "", nil)
	var e exportJSON
	if res.Code != http.StatusOK || json.Unmarshal(res.Body.Bytes(), &e) != nil {
		tb.Fatalf("export %s: %d %s", id, res.Code, res.Body)
	}
	return e
}

// askExport asks for an export as user and returns its id.
func askExport(tb testing.TB, h *harness, user, body string) exportJSON {
	tb.Helper()
	res := h.do("POST", "/api/v1/apps/shop/forms/customer/exports", user, body, nil)
	var e exportJSON
	if res.Code != http.StatusAccepted || json.Unmarshal(res.Body.Bytes(), &e) != nil {
		tb.Fatalf("export %s: %d %s", body, res.Code, res.Body)
	}
	return e
}

// unzipped is every part of a workbook, unpacked, end to end: what a
// forbidden value must not be found in.
func unzipped(tb testing.TB, data []byte) string {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		part, _ := io.ReadAll(rc)
		rc.Close()
		b.Write(part)
	}
	return b.String()
}

// TestExportAPI: a store clerk whose role masks the phone and hides the
// discount exports their customers; the file holds the masked phone, no
// discount at all, labels instead of ids, the watermark; only they may
// read and download it; each step is audited; trace names the export
// from the file, a re-saved copy and cells copied into a new workbook.
func TestExportAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	ctx := context.Background()
	staff := &engine.Principal{User: h.users["staff"], IP: "127.0.0.1"}
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	for _, name := range []string{"王小明", "李四", "=1+2"} {
		r, err := h.svc.CreateRecord(ctx, staff, "shop", "customer", map[string]any{"name": name, "phone": "13912345678", "level": "vip"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.UpdateRecord(ctx, admin, "shop", "customer", r.ID, r.Version, map[string]any{"discount": 0.0731}); err != nil {
			t.Fatal(err)
		}
	}
	// without the export operation
	if res := h.do("POST", "/api/v1/apps/shop/forms/customer/exports", "staff", `{"format":"xlsx"}`, nil); res.Code != http.StatusForbidden {
		t.Fatalf("export without the operation: %d %s", res.Code, res.Body)
	}
	exportShop(t, h, nil, nil)
	for _, bad := range []struct{ body, why string }{
		{`{"format":"pdf"}`, "format"},
		{`{"fields":["discount"]}`, "a hidden field"},
		{`{"fields":["nope"]}`, "an unknown field"},
		{`{"filter":{"discount":{"$gt":0}}}`, "a filter on a hidden field"},
		{`{"filter":{"$where":"1"}}`, "a forbidden operator"},
	} {
		if res := h.do("POST", "/api/v1/apps/shop/forms/customer/exports", "staff", bad.body, nil); res.Code < 400 || res.Code >= 500 {
			t.Errorf("export with %s: %d %s", bad.why, res.Code, res.Body)
		}
	}
	e := askExport(t, h, "staff", `{"format":"xlsx","sort":"name"}`)
	if e.Status != engine.ExportQueued || e.Rows != 3 || strings.Contains(strings.Join(e.Columns, ","), "discount") {
		t.Fatalf("asked: %+v", e)
	}
	if res := h.do("GET", "/api/v1/exports/"+e.ID+"/file", "staff", "", nil); res.Code != http.StatusConflict {
		t.Errorf("file before it is made: %d", res.Code)
	}
	if n := runJobs(t, h, engine.JobRecordExport, exchange.NewExporter(h.svc).HandleExportJob); n != 1 {
		t.Fatalf("%d export jobs ran", n)
	}
	if got := exportOf(t, h, "staff", e.ID); got.Status != engine.ExportDone || got.Done != 3 || got.File == "" {
		t.Fatalf("after the job: %+v", got)
	}
	for _, other := range []string{"manager", "admin"} {
		if res := h.do("GET", "/api/v1/exports/"+e.ID+"/file", other, "", nil); res.Code != http.StatusNotFound {
			t.Errorf("%s downloads the staff's export: %d", other, res.Code)
		}
	}
	res := h.do("GET", "/api/v1/exports/"+e.ID+"/file", "staff", "", nil)
	if res.Code != http.StatusOK || !strings.Contains(res.Header().Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %v", res.Code, res.Header())
	}
	file := res.Body.Bytes()
	all := unzipped(t, file)
	for _, forbidden := range []string{"13912345678", "0.0731", "折扣", "Discount", "discount"} {
		if strings.Contains(all, forbidden) {
			t.Errorf("the file holds %q", forbidden)
		}
	}
	for _, want := range []string{"139****5678", "王小明", "VIP", "Exported by staff", e.ID} {
		if !strings.Contains(all, want) {
			t.Errorf("the file lacks %q", want)
		}
	}

	// trace: the file, a re-saved copy, cells copied into a new workbook
	tag := traced(t, h, file, e.ID)
	wb, err := excelize.OpenReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var resaved bytes.Buffer
	if _, err := wb.WriteTo(&resaved); err != nil {
		t.Fatal(err)
	}
	if got := traced(t, h, resaved.Bytes(), e.ID); got != tag {
		t.Errorf("re-saved copy traces to %s, the file to %s", got, tag)
	}
	rows, err := wb.GetRows("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	cp := excelize.NewFile()
	n := 0
	for r, row := range rows[2:] { // the records, without the header lines
		for c, v := range row {
			if v == "" {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(c+3, r+5)
			cp.SetCellValue("Sheet1", cell, v)
			n++
		}
	}
	var copied bytes.Buffer
	if _, err := cp.WriteTo(&copied); err != nil {
		t.Fatal(err)
	}
	tr, err := exchange.TraceFile(copied.Bytes())
	if err != nil || tr.Tag != tag || tr.Export != "" {
		t.Errorf("copied cells (%d) trace to %+v %v, want tag %s without the properties", n, tr, err, tag)
	}

	// CSV: a byte-order mark, a formula neutralised
	c := askExport(t, h, "staff", `{"format":"csv","q":"=1+2"}`)
	runJobs(t, h, engine.JobRecordExport, exchange.NewExporter(h.svc).HandleExportJob)
	res = h.do("GET", "/api/v1/exports/"+c.ID+"/file", "staff", "", nil)
	body := res.Body.String()
	if res.Code != http.StatusOK || !strings.HasPrefix(body, "\uFEFF") || !strings.Contains(body, "'=1+2") || strings.Contains(body, ",=1+2") {
		t.Errorf("csv: %d %q", res.Code, body)
	}
	if got := traced(t, h, res.Body.Bytes(), ""); got == "" {
		t.Error("the csv carries no mark")
	}

	// an app that turns the invisible mark off: the visible one stays
	exportShop(t, h, nil, map[string]any{"invisible_mark": false})
	plain := askExport(t, h, "staff", `{}`)
	runJobs(t, h, engine.JobRecordExport, exchange.NewExporter(h.svc).HandleExportJob)
	res = h.do("GET", "/api/v1/exports/"+plain.ID+"/file", "staff", "", nil)
	if tr, err := exchange.TraceFile(res.Body.Bytes()); err != nil || tr.Tag != "" || tr.Export != plain.ID || !strings.Contains(unzipped(t, res.Body.Bytes()), "Exported by staff") {
		t.Errorf("without the invisible mark: %+v %v", tr, err)
	}

	// the audit trail
	for _, action := range []string{"export.request", "export", "export.download"} {
		evs, err := h.store.FindAuditEvents(ctx, engine.AuditQuery{Action: action})
		if err != nil || len(evs.Items) == 0 {
			t.Errorf("no %s audit event: %v", action, err)
		}
	}
	denied, _ := h.store.FindAuditEvents(ctx, engine.AuditQuery{Action: "export"})
	ok := false
	for _, ev := range denied.Items {
		ok = ok || ev.Result == engine.ResultDenied
	}
	if !ok {
		t.Error("the refused export is not audited as denied")
	}
}

// traced traces a file and checks the export it names; it returns the tag.
func traced(tb testing.TB, h *harness, file []byte, wantID string) string {
	tb.Helper()
	tr, err := exchange.TraceFile(file)
	if err != nil || tr.Tag == "" {
		tb.Fatalf("trace: %+v %v", tr, err)
	}
	if wantID != "" && tr.Export != wantID {
		tb.Errorf("the properties name %q, want %q", tr.Export, wantID)
	}
	js, err := h.svc.TraceExport(context.Background(), nil, tr.Tag)
	if err != nil || len(js) == 0 {
		tb.Fatalf("no export has tag %s: %v", tr.Tag, err)
	}
	if wantID != "" && js[0].ID != wantID {
		tb.Errorf("tag %s names %s, want %s", tr.Tag, js[0].ID, wantID)
	}
	return tr.Tag
}

// TestExportApproval: over the role's row threshold an export waits for
// the approver the rule names; approved, it is written; rejected, it says
// so and never is.
func TestExportApproval(t *testing.T) {
	h := newHarness(t, testConfig())
	w := h.withWorkflows(workflow.Options{})
	ctx := context.Background()
	staff := &engine.Principal{User: h.users["staff"], IP: "127.0.0.1"}
	for _, name := range []string{"甲", "乙", "丙"} {
		if _, err := h.svc.CreateRecord(ctx, staff, "shop", "customer", map[string]any{"name": name, "phone": "13912345678", "level": "normal"}); err != nil {
			t.Fatal(err)
		}
	}
	exportShop(t, h, map[string]any{"approve_over_rows": 2, "approvers": map[string]any{"roles": []any{"store_manager"}}}, nil)
	small := askExport(t, h, "staff", `{"q":"甲"}`)
	if small.Status != engine.ExportQueued {
		t.Errorf("an export under the threshold: %s", small.Status)
	}
	decide := func(action string) exportJSON {
		t.Helper()
		e := askExport(t, h, "staff", `{}`)
		if e.Status != engine.ExportAwaitingApproval {
			t.Fatalf("an export over the threshold: %+v", e)
		}
		runJobs(t, h, engine.JobRecordExport, exchange.NewExporter(h.svc).HandleExportJob)
		if got := exportOf(t, h, "staff", e.ID); got.Status != engine.ExportAwaitingApproval {
			t.Fatalf("before the approval: %s", got.Status)
		}
		res := h.do("GET", "/api/v1/tasks?status=open", "manager", "", nil)
		var list struct {
			Items []workflow.Task `json:"items"`
		}
		if err := json.Unmarshal(res.Body.Bytes(), &list); err != nil {
			t.Fatal(err)
		}
		task := ""
		for _, tk := range list.Items {
			if tk.App == workflow.AccessApp && tk.Form == workflow.ExportRequestForm {
				task = tk.ID
			}
		}
		if task == "" {
			t.Fatalf("the manager has no export task: %s", res.Body)
		}
		if res := h.do("POST", "/api/v1/tasks/"+task+"/"+action, "manager", `{"comment":"看过了"}`, nil); res.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", action, res.Code, res.Body)
		}
		runJobs(t, h, workflow.JobWorkflowPlugin, w.HandleJob)
		runJobs(t, h, engine.JobRecordExport, exchange.NewExporter(h.svc).HandleExportJob)
		return exportOf(t, h, "staff", e.ID)
	}
	if got := decide("approve"); got.Status != engine.ExportDone || got.Done != 3 {
		t.Errorf("approved: %+v", got)
	}
	got := decide("reject")
	if got.Status != engine.ExportRejected {
		t.Errorf("rejected: %+v", got)
	}
	if res := h.do("GET", "/api/v1/exports/"+got.ID+"/file", "staff", "", nil); res.Code != http.StatusConflict {
		t.Errorf("the file of a rejected export: %d", res.Code)
	}
}

// TestListPagingAllowance: paging through the list API stops where an
// export would need approval; the cursor cannot be reset by hand.
func TestListPagingAllowance(t *testing.T) {
	h := newHarness(t, testConfig())
	ctx := context.Background()
	staff := &engine.Principal{User: h.users["staff"], IP: "127.0.0.1"}
	for _, name := range []string{"甲", "乙", "丙"} {
		if _, err := h.svc.CreateRecord(ctx, staff, "shop", "customer", map[string]any{"name": name, "phone": "13912345678", "level": "normal"}); err != nil {
			t.Fatal(err)
		}
	}
	exportShop(t, h, map[string]any{"approve_over_rows": 2}, nil)
	page := func(cursor string) (int, string, string) {
		t.Helper()
		res := h.do("GET", "/api/v1/apps/shop/forms/customer/records?limit=1&sort=name&cursor="+url.QueryEscape(cursor), "staff", "", nil)
		var out struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		_ = json.Unmarshal(res.Body.Bytes(), &out)
		return res.Code, out.NextCursor, res.Body.String()
	}
	code, c1, body := page("")
	if code != http.StatusOK || c1 == "" {
		t.Fatalf("page 1: %d %s", code, body)
	}
	code, c2, body := page(c1)
	if code != http.StatusOK || c2 == "" {
		t.Fatalf("page 2: %d %s", code, body)
	}
	if code, _, body = page(c2); code != http.StatusForbidden || !strings.Contains(body, "2") {
		t.Errorf("page 3, beyond the allowance: %d %s", code, body)
	}
	reset := "0" + c2[strings.Index(c2, "."):]
	if code, _, body = page(reset); code != http.StatusUnprocessableEntity {
		t.Errorf("a cursor reset by hand: %d %s", code, body)
	}
	if code, _, _ = page("garbage"); code != http.StatusUnprocessableEntity {
		t.Errorf("a made-up cursor: %d", code)
	}
	// the manager (export without a rule) pages on
	res := h.do("GET", "/api/v1/apps/shop/forms/customer/records?limit=1", "manager", "", nil)
	if res.Code != http.StatusOK {
		t.Errorf("manager: %d", res.Code)
	}
}

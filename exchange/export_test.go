package exchange_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/store/teststore"
	"formwork/exchange"
)

// TestExportOnStore runs an export through the service on the store under
// test, behind the encrypting store: the job, its sealed file chunks, the
// masked values, the trace by tag, the expiry that deletes the file.
func TestExportOnStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	raw := teststore.Open(t, nil)
	master, _, err := engine.LoadMasterKey(func(string) string { return "" }, dir)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := engine.NewKeyring(raw, master, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	st := engine.NewEncryptingStore(raw, keys, engine.StoreForms(raw))
	org := engine.NewOrg(st, nil)
	svc := engine.NewService(st, org, engine.ServiceOptions{Keys: keys})
	t.Cleanup(svc.Close)
	sys := engine.AuditActor{ID: engine.SystemActor}
	if _, err := org.CreateUnit(ctx, sys, engine.Unit{Key: "hq", Name: engine.T("总部", "HQ")}); err != nil {
		t.Fatal(err)
	}
	admin, err := org.CreateUser(ctx, sys, engine.NewUser{Email: "admin@example.com", Name: "admin", Unit: "hq", Admin: true, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	clerk, err := org.CreateUser(ctx, sys, engine.NewUser{Email: "clerk@example.com", Name: "店员甲", Unit: "hq", Roles: map[string][]string{"bench": {"clerk"}}, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ImportApp(ctx, &engine.Principal{User: admin}, []byte(benchBundle), engine.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	p := &engine.Principal{User: clerk, IP: "127.0.0.1"}
	for _, name := range []string{"王小明", "李四"} {
		if _, err := svc.CreateRecord(ctx, &engine.Principal{User: admin}, "bench", "customer", map[string]any{"name": name, "phone": "13912345678", "level": "vip", "spent": 12.5}); err != nil {
			t.Fatal(err)
		}
	}
	j, err := svc.RequestExport(ctx, p, "bench", "customer", engine.ExportRequest{Format: engine.ExportCSV, Lang: "zh"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	job := engine.OutboxJob{ID: "export-run-" + j.ID, Type: engine.JobRecordExport, Payload: engine.MustJSON(map[string]string{"export": j.ID})}
	if err := exchange.NewExporter(svc).HandleExportJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	if err := exchange.NewExporter(svc).HandleExportJob(ctx, job); err != nil { // delivered again: nothing more
		t.Fatal(err)
	}
	done, file, err := svc.ExportFile(ctx, p, j.ID)
	if err != nil || done.State != engine.ExportDone || done.Done != 2 {
		t.Fatalf("file: %+v %v", done, err)
	}
	text := exchange.StripMarks(string(file))
	for _, want := range []string{"139****5678", "王小明", "贵宾", "12.5", "由 店员甲 于"} {
		if !strings.Contains(text, want) {
			t.Errorf("the file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "13912345678") {
		t.Error("the file holds the phone in clear")
	}
	chunks, err := raw.FindDocs(ctx, engine.DocQuery{Kind: engine.KindExportChunk})
	if err != nil || len(chunks) == 0 {
		t.Fatalf("chunks: %d %v", len(chunks), err)
	}
	for _, c := range chunks {
		if bytes.Contains(c.Value, []byte("139****")) || bytes.Contains(c.Value, []byte("王小明")) {
			t.Error("a file chunk holds the file in clear at rest")
		}
	}
	tr, err := exchange.TraceFile(file)
	if err != nil {
		t.Fatal(err)
	}
	found, err := svc.TraceExport(ctx, nil, tr.Tag)
	if err != nil || len(found) != 1 || found[0].ID != j.ID {
		t.Errorf("trace %s: %v %v", tr.Tag, found, err)
	}
	if _, err := svc.TraceExport(ctx, p, tr.Tag); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("a clerk traces: %v", err)
	}
	if err := svc.HandleExportExpireJob(ctx, engine.OutboxJob{ID: "x", Payload: engine.MustJSON(map[string]string{"export": j.ID})}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.ExportFile(ctx, p, j.ID); engine.ErrorCode(err) != engine.EGONE {
		t.Errorf("an expired export's file: %v", err)
	}
	if left, _ := raw.FindDocs(ctx, engine.DocQuery{Kind: engine.KindExportChunk}); len(left) != 0 {
		t.Errorf("%d chunks left after the expiry", len(left))
	}
}

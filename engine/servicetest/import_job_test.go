package servicetest_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/store/sqlite"
	"formwork/templates"
)

// importFixture is a service on a real SQLite store with nothing imported.
type importFixture struct {
	st    engine.Store
	svc   *engine.Service
	clock *testClock
	admin *engine.Principal
}

func newImportFixture(tb testing.TB) *importFixture {
	tb.Helper()
	clock := &testClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	st, err := sqlite.Open(filepath.Join(tb.TempDir(), "fw.db"), sqlite.Options{Now: clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	svc := engine.NewService(st, engine.NewOrg(st, clock.Now), engine.ServiceOptions{Clock: clock.Now})
	tb.Cleanup(svc.Close)
	return &importFixture{st: st, svc: svc, clock: clock,
		admin: &engine.Principal{User: &engine.User{ID: "admin1", Unit: "hq", Admin: true}, IP: "127.0.0.1"}}
}

func (f *importFixture) count(tb testing.TB, app, form string) int64 {
	tb.Helper()
	n, err := f.st.CountRecords(context.Background(), engine.RecordQuery{App: app, Form: form})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// sampleEvents counts the audit events of sample records.
func (f *importFixture) sampleEvents(tb testing.TB) int {
	tb.Helper()
	n := 0
	if err := f.st.WalkAudit(context.Background(), 0, func(ev *engine.AuditEvent) error {
		if ev.Action == "create" && ev.Reason == "sample data" {
			n++
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestSampleImportInBatches(t *testing.T) {
	f := newImportFixture(t)
	ctx := context.Background()
	data, err := templates.Get("crm")
	if err != nil {
		t.Fatal(err)
	}
	b, err := engine.LoadBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	var seen []engine.ImportJob
	v, err := f.svc.ImportApp(ctx, f.admin, data, engine.ImportOptions{SampleData: true, Wait: true,
		Progress: func(j engine.ImportJob) { seen = append(seen, j) }})
	if err != nil {
		t.Fatal(err)
	}
	if v.Job == "" {
		t.Fatal("no job id")
	}
	total := 0
	for _, fm := range b.Forms {
		want := len(b.SampleData[fm.Key])
		total += want
		if got := f.count(t, "crm", fm.Key); got != int64(want) {
			t.Errorf("%s: %d records, want %d", fm.Key, got, want)
		}
	}
	batches := (total + engine.SampleBatchSize - 1) / engine.SampleBatchSize
	// one report for the claim, one per batch
	if len(seen) != batches+1 {
		t.Errorf("%d progress reports, want %d", len(seen), batches+1)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].Done <= seen[i-1].Done {
			t.Errorf("progress did not advance: %d then %d", seen[i-1].Done, seen[i].Done)
		}
	}
	j, err := f.svc.ImportJob(ctx, f.admin, v.Job)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != engine.ImportDone || j.Done != total || j.Total != total || j.Batches != batches || j.Finished == nil {
		t.Errorf("job: %+v, want done %d/%d in %d batches", j, j.Done, total, batches)
	}
	for _, fp := range j.Forms {
		if fp.Done != fp.Total || fp.Total != len(b.SampleData[fp.Form]) || fp.Title.Zh == "" || fp.Title.En == "" {
			t.Errorf("form progress %+v", fp)
		}
	}
	if n := f.sampleEvents(t); n != total {
		t.Errorf("%d sample audit events, want one per record (%d)", n, total)
	}
	page, err := f.st.FindRecords(ctx, engine.RecordQuery{App: "crm", Form: "customer", Limit: 1})
	if err != nil || len(page.Items) != 1 {
		t.Fatal(page, err)
	}
	if r := page.Items[0]; r.Owner != "admin1" || r.Unit != "hq" || r.FormVersion != 1 || r.Version != 1 {
		t.Errorf("sample record %+v", r)
	}
	revs, err := f.st.FindRevisions(ctx, "crm", "customer", page.Items[0].ID)
	if err != nil || len(revs) != 1 {
		t.Errorf("revisions: %d %v, want 1", len(revs), err)
	}
	// the safety-net job was marked done by the last batch
	pending, err := f.st.FindOutbox(ctx, f.clock.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range pending {
		if o.Type == engine.JobSampleImport {
			t.Errorf("outbox job %s still pending", o.ID)
		}
	}
	// a redelivered outbox job leaves a finished import alone
	if err := f.svc.HandleSampleImportJob(ctx, engine.OutboxJob{ID: v.Job, Type: engine.JobSampleImport, Payload: []byte(`{"job":"` + v.Job + `"}`)}); err != nil {
		t.Fatal(err)
	}
	if got := f.count(t, "crm", "customer"); got != int64(len(b.SampleData["customer"])) {
		t.Errorf("redelivery duplicated records: %d", got)
	}
	// only administrators follow import jobs
	staff := &engine.Principal{User: &engine.User{ID: "u2", Unit: "hq"}}
	if _, err := f.svc.ImportJob(ctx, staff, v.Job); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("staff reads import job: %v", err)
	}
}

func TestSampleImportInBackground(t *testing.T) {
	f := newImportFixture(t)
	ctx := context.Background()
	data, _ := templates.Get("crm")
	v, err := f.svc.ImportApp(ctx, f.admin, data, engine.ImportOptions{SampleData: true})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j, err := f.svc.ImportJob(ctx, f.admin, v.Job)
		if err != nil {
			t.Fatal(err)
		}
		if j.Over() {
			if j.State != engine.ImportDone || j.Done != j.Total || j.Total == 0 {
				t.Fatalf("job ended %+v", j)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s at %d/%d", j.State, j.Done, j.Total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// without sample data there is no job
	v2, err := f.svc.ImportApp(ctx, f.admin, data, engine.ImportOptions{})
	if err != nil || v2.Job != "" || v2.Version != 2 {
		t.Fatalf("re-import without samples: %+v %v", v2, err)
	}
}

// An import stopped after its first batch is finished by the outbox job
// once its runner's lease has run out, without duplicating a record.
func TestSampleImportResumes(t *testing.T) {
	f := newImportFixture(t)
	data, _ := templates.Get("crm")
	b, _ := engine.LoadBundle(data)
	total := 0
	for _, recs := range b.SampleData {
		total += len(recs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	v, err := f.svc.ImportApp(ctx, f.admin, data, engine.ImportOptions{SampleData: true, Wait: true, Progress: func(j engine.ImportJob) {
		if j.Done >= engine.SampleBatchSize {
			cancel()
		}
	}})
	if err == nil || v == nil || v.Job == "" {
		t.Fatalf("stopped import: %+v %v", v, err)
	}
	bg := context.Background()
	j, err := f.svc.ImportJob(bg, f.admin, v.Job)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != engine.ImportRunning || j.Done != engine.SampleBatchSize {
		t.Fatalf("after the stop: %s %d/%d", j.State, j.Done, j.Total)
	}
	job := engine.OutboxJob{ID: v.Job, Type: engine.JobSampleImport, Payload: []byte(`{"job":"` + v.Job + `"}`)}
	if err := f.svc.HandleSampleImportJob(bg, job); err == nil {
		t.Fatal("the outbox job took over a job whose runner still holds the lease")
	}
	f.clock.mu.Lock()
	f.clock.t = f.clock.t.Add(time.Minute)
	f.clock.mu.Unlock()
	if err := f.svc.HandleSampleImportJob(bg, job); err != nil {
		t.Fatal(err)
	}
	j, _ = f.svc.ImportJob(bg, f.admin, v.Job)
	if j.State != engine.ImportDone || j.Done != total {
		t.Fatalf("resumed: %s %d/%d", j.State, j.Done, total)
	}
	n := 0
	for _, fm := range b.Forms {
		n += int(f.count(t, "crm", fm.Key))
	}
	if n != total || f.sampleEvents(t) != total {
		t.Errorf("%d records, %d events after resume, want %d", n, f.sampleEvents(t), total)
	}
}

// Rules are checked as each record is written, with the importing user:
// a record that fails fails the job, and no record of its batch is kept.
func TestSampleImportChecksRules(t *testing.T) {
	f := newImportFixture(t)
	ctx := context.Background()
	// the check passes when the bundle is loaded (no user) and fails for a
	// user in unit hq
	bundle := `{"formwork": "1", "app": {"key": "chk", "name": {"zh": "检查", "en": "Check"}, "version": "1.0.0"},
	 "forms": [{"x-key": "item", "x-title": {"zh": "条目", "en": "Item"}, "type": "object",
	   "properties": {"name": {"type": "string", "x-widget": "text", "x-label": {"zh": "名称", "en": "Name"}}},
	   "x-checks": [{"expr": "user.unit != 'hq' || name != 'bad'", "message": {"zh": "总部不能导入 bad", "en": "hq may not import bad"}}]}],
	 "roles": [], "workflows": [],
	 "sample_data": {"item": [{"name": "good"}, {"name": "bad"}, {"name": "fine"}]}}`
	v, err := f.svc.ImportApp(ctx, f.admin, []byte(bundle), engine.ImportOptions{SampleData: true, Wait: true})
	if engine.ErrorCode(err) != engine.EINVALID {
		t.Fatalf("import: %v, want invalid", err)
	}
	fe := engine.ErrorFields(err)
	if len(fe) != 1 || !strings.HasPrefix(fe[0].Field, "/sample_data/item/1") {
		t.Fatalf("errors %+v, want one at /sample_data/item/1", fe)
	}
	j, err := f.svc.ImportJob(ctx, f.admin, v.Job)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != engine.ImportFailed || j.Done != 0 || j.Error == nil || j.Error.En == "" || j.Error.Zh == "" {
		t.Errorf("job %+v", j)
	}
	if n := f.count(t, "chk", "item"); n != 0 {
		t.Errorf("%d records kept from the failed batch", n)
	}
}

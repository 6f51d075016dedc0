package servicetest_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/store/sqlite"
)

const blobBundle = `{
  "formwork": "1",
  "app": {"key": "docs", "name": {"zh": "报销", "en": "Claims"}, "version": "1.0.0"},
  "roles": [{"key": "clerk", "name": {"zh": "专员", "en": "Clerk"},
     "permissions": {"claim": {"operations": ["create", "read", "update", "delete"], "scope": "own", "fields": {"*": "edit"}}}}],
  "forms": [{"$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "claim", "x-title": {"zh": "报销单", "en": "Claim"}, "type": "object",
     "properties": {
       "title":  {"type": "string", "x-widget": "text", "x-label": {"zh": "事由", "en": "Title"}},
       "photos": {"type": "array", "items": {"type": "string"}, "x-widget": "image", "x-label": {"zh": "照片", "en": "Photos"}}
     }}]
}`

func blobPNG(tb testing.TB, seed uint8) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for y := 0; y < 300; y++ {
		for x := 0; x < 400; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x*y) + seed, uint8(x ^ y), seed, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// TestBlobGC: uploads nobody attached are purged by the collector's job
// once older than the age limit, with their thumbnails and the chunks no
// other upload shares, and audited; an attached upload stays, also while
// its record is in the recycle bin, and goes once the record is purged.
func TestBlobGC(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 11, 23, 9, 10, 0, 0, time.UTC)}
	st, svc, clerk := blobService(t, engine.ServiceOptions{Clock: clock.Now})
	put := func(data []byte) *engine.BlobInfo {
		b, err := svc.PutBlob(ctx, clerk, "docs", "claim", "photos", "p.png", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pa, pb := blobPNG(t, 1), blobPNG(t, 2)
	kept := put(pa)
	abandoned := put(pb)
	twin := put(pa) // same bytes as kept: shares its chunks
	rec, err := svc.CreateRecord(ctx, clerk, "docs", "claim", map[string]any{"title": "x", "photos": []any{kept.Ref()}})
	if err != nil {
		t.Fatal(err)
	}
	exists := func(kind, id string) bool {
		_, err := st.FindDoc(ctx, kind, id)
		if err != nil && engine.ErrorCode(err) != engine.ENOTFOUND {
			t.Fatal(err)
		}
		return err == nil
	}
	if !exists(engine.KindBlobThumb, abandoned.ID) {
		t.Fatal("no thumbnail stored at upload")
	}

	// the job: scheduled at the next hour, it runs, purges nothing young
	// and schedules the next run
	opt := engine.BlobGCOptions{MaxAge: 24 * time.Hour, Every: time.Hour}
	if err := svc.ScheduleBlobGC(ctx, opt); err != nil {
		t.Fatal(err)
	}
	if err := svc.ScheduleBlobGC(ctx, opt); err != nil { // a second process starting
		t.Fatal(err)
	}
	runDue := func() int {
		t.Helper()
		jobs, err := st.FindOutbox(ctx, clock.Now(), 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, j := range jobs {
			if j.Type != engine.JobBlobGC {
				continue
			}
			n++
			if err := svc.HandleBlobGCJob(ctx, j); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Apply(ctx, &engine.Change{OutboxDone: []string{j.ID}}); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	clock.Add(time.Hour)
	if n := runDue(); n != 1 {
		t.Fatalf("%d collector runs due, want 1", n)
	}
	if !exists(engine.KindBlob, abandoned.ID) {
		t.Fatal("a young upload was purged")
	}

	// a day later the abandoned uploads go; the attached one stays whole
	clock.Add(24 * time.Hour)
	if n := runDue(); n != 1 {
		t.Fatalf("%d collector runs due a day later, want 1 (one chain)", n)
	}
	for _, b := range []*engine.BlobInfo{abandoned, twin} {
		if exists(engine.KindBlob, b.ID) || exists(engine.KindBlobThumb, b.ID) {
			t.Errorf("upload %s not purged", b.ID)
		}
	}
	for _, c := range abandoned.Chunks {
		if exists(engine.KindBlobChunk, c) {
			t.Errorf("chunk %s of the abandoned upload stays", c)
		}
	}
	if _, data, err := svc.OpenBlob(ctx, clerk, "docs", "claim", rec.ID, kept.ID); err != nil || !bytes.Equal(data, pa) {
		t.Fatalf("the attached upload (sharing its chunks with a purged twin): %v", err)
	}
	page, err := st.FindAuditEvents(ctx, engine.AuditQuery{Action: "file.purge"})
	if err != nil || len(page.Items) != 2 || page.Items[0].Actor != engine.SystemActor {
		t.Fatalf("purge audit: %v %+v", err, page)
	}

	// the recycle bin keeps the files; purging the record releases them
	if err := svc.DeleteRecord(ctx, clerk, "docs", "claim", rec.ID, 0); err != nil {
		t.Fatal(err)
	}
	if res, err := svc.PurgeBlobs(ctx, 24*time.Hour); err != nil || res.Purged != 0 {
		t.Fatalf("with the record in the recycle bin: %+v %v", res, err)
	}
	r, err := st.FindRecordByID(ctx, "docs", "claim", rec.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WritePurge, Record: r, ExpectVersion: r.Version, Actor: "admin", At: clock.Now()}}}); err != nil {
		t.Fatal(err)
	}
	if res, err := svc.PurgeBlobs(ctx, 24*time.Hour); err != nil || res.Purged != 1 || res.Chunks != len(kept.Chunks) {
		t.Fatalf("after the record's purge: %+v %v", res, err)
	}
	for _, c := range kept.Chunks {
		if exists(engine.KindBlobChunk, c) {
			t.Errorf("chunk %s stays after its last upload went", c)
		}
	}
}

// blobService is a service on a new SQLite store with blobBundle imported
// (as an administrator) and a clerk of it, its options opt.
func blobService(t *testing.T, opt engine.ServiceOptions) (*sqlite.Store, *engine.Service, *engine.Principal) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "fw.db"), sqlite.Options{Now: opt.Clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	org := engine.NewOrg(st, opt.Clock)
	sys := engine.AuditActor{ID: engine.SystemActor}
	if _, err := org.CreateUnit(ctx, sys, engine.Unit{Key: "hq", Name: engine.T("总部", "HQ")}); err != nil {
		t.Fatal(err)
	}
	svc := engine.NewService(st, org, opt)
	t.Cleanup(svc.Close)
	mk := func(email string, admin bool) *engine.Principal {
		u, err := org.CreateUser(ctx, sys, engine.NewUser{Email: email, Name: email, Unit: "hq", Admin: admin,
			Roles: map[string][]string{"docs": {"clerk"}}, Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		return &engine.Principal{User: u}
	}
	admin, clerk := mk("admin@example.com", true), mk("clerk@example.com", false)
	if _, err := svc.ImportApp(ctx, admin, []byte(blobBundle), engine.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return st, svc, clerk
}

// TestBlobSizeLimit: the service's upload limit (ServiceOptions.MaxBlobSize,
// set by FORMWORK_UPLOAD_FILE_LIMIT) holds an upload to that many bytes,
// refusing a larger one with a message naming the limit; no limit set is
// the default 10 MB, and one past MaxBlobSizeLimit is held to that.
func TestBlobSizeLimit(t *testing.T) {
	ctx := context.Background()
	pic := blobPNG(t, 1)
	for _, c := range []struct {
		max, want int64
		msg       string
	}{
		{int64(len(pic)), int64(len(pic)), "KB"},
		{4 << 20, 4 << 20, "the file is larger than 4 MB"},
		{0, engine.DefaultMaxBlobSize, "the file is larger than 10 MB"},
		{1 << 40, engine.MaxBlobSizeLimit, "the file is larger than 256 MB"},
	} {
		_, svc, _ := blobService(t, engine.ServiceOptions{Clock: time.Now, MaxBlobSize: c.max})
		if got := svc.MaxBlobSize(); got != c.want {
			t.Errorf("MaxBlobSize %d: the service holds uploads to %d bytes, want %d", c.max, got, c.want)
		}
		if err := svc.BlobTooLarge(); engine.ErrorCode(err) != engine.ETOOLARGE || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("MaxBlobSize %d: refusal %v, want ETOOLARGE saying %q", c.max, err, c.msg)
		}
	}
	_, svc, clerk := blobService(t, engine.ServiceOptions{Clock: time.Now, MaxBlobSize: int64(len(pic))})
	if _, err := svc.PutBlob(ctx, clerk, "docs", "claim", "photos", "p.png", bytes.NewReader(pic)); err != nil {
		t.Errorf("an upload of exactly the limit: %v", err)
	}
	if _, err := svc.PutBlob(ctx, clerk, "docs", "claim", "photos", "p.png", bytes.NewReader(append(pic, 0))); engine.ErrorCode(err) != engine.ETOOLARGE {
		t.Errorf("an upload one byte over the limit: %v, want ETOOLARGE", err)
	}
}

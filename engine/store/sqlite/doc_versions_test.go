package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"formwork/engine"
)

// putDoc writes doc kind/id (any version) through s.
func putDoc(t testing.TB, s *Store, kind, id string) int64 {
	t.Helper()
	res, err := s.Apply(context.Background(), &engine.Change{Docs: []engine.DocWrite{
		{Doc: engine.Doc{Kind: kind, ID: id, Value: json.RawMessage(`{}`)}, ExpectVersion: engine.AnyVersion}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Docs[0].Version
}

// readEvent commits one read's audit event as a request does (a lazy
// change of one event: appendEvents' single statement).
func readEvent(t testing.TB, s *Store) {
	t.Helper()
	if err := commitRead(s); err != nil {
		t.Fatal(err)
	}
}

func commitRead(s *Store) error {
	_, err := s.Apply(context.Background(), &engine.Change{Lazy: true, Audit: []*engine.AuditEvent{
		{Time: time.Now(), Actor: "u1", Action: "read", Object: "r1", Result: engine.ResultOK}}})
	return err
}

// cached reports whether the versions of refs are answered from memory
// now.
func cached(s *Store, refs []engine.DocRef) bool {
	h, ok := s.vers.header()
	return ok && s.vers.lookup(h, refs, make([]int64, len(refs)))
}

// TestDocVersionsCache: the versions a request's authentication reads are
// kept across this store's commits of other things (a read's audit
// event, a record) and are always those in the database: after this
// store's own write of a doc, after another store on the file (another
// process) wrote the doc, and after it wrote anything at all.
func TestDocVersionsCache(t *testing.T) {
	ctx := context.Background()
	a, b := twoStores(t)
	putDoc(t, a, "user", "u1")
	putDoc(t, a, "app", "shop")
	refs := []engine.DocRef{{Kind: "user", ID: "u1"}, {Kind: "app", ID: "shop"}, {Kind: "epoch", ID: "none"}}
	want := []int64{1, 1, 0}
	check := func(how string, cachedAfter bool) {
		t.Helper()
		got, err := a.DocVersions(ctx, refs)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: DocVersions = %v, %v; want %v", how, got, err, want)
		}
		if c := cached(a, refs); c != cachedAfter {
			t.Fatalf("%s: versions cached = %v, want %v", how, c, cachedAfter)
		}
	}
	check("first read", true)
	readEvent(t, a)
	if !cached(a, refs) {
		t.Fatal("a read's audit event of this store dropped the cached versions")
	}
	check("after a read's audit event", true)
	rec := &engine.Record{ID: "r1", App: "shop", Form: "customers", FormVersion: 1, Unit: "u", Owner: "o", Status: "active",
		CreatedAt: t0, CreatedBy: "o", UpdatedAt: t0, UpdatedBy: "o", Data: map[string]any{"name": "一"}}
	if _, err := a.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: rec, Actor: "o", At: t0}}}); err != nil {
		t.Fatal(err)
	}
	if !cached(a, refs) {
		t.Fatal("a record written by this store dropped the cached versions")
	}
	check("after a record", true)

	want[0] = putDoc(t, a, "user", "u1") // this store changes the user
	if cached(a, refs) {
		t.Fatal("the user's old version is still cached after this store wrote it")
	}
	check("after this store wrote the user", true)

	want[1] = putDoc(t, b, "app", "shop") // another process changes the app
	check("after another store wrote the app", true)
	want[2] = putDoc(t, b, "epoch", "none") // and makes a doc that was missing
	check("after another store made a doc", true)
	readEvent(t, b) // another process writes something else: nothing is trusted
	if cached(a, refs) {
		t.Fatal("versions still cached after another store's commit")
	}
	check("after another store's read event", true)
	// another process's write just before one of this store's: the
	// store's commit does not carry the cache over it
	want[0] = putDoc(t, b, "user", "u1")
	putDoc(t, a, "app", "other")
	check("after another store's write, then this store's", true)

	// a change that fails leaves the database as it was, and the cache
	// (emptied) reads it again
	if _, err := a.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{
		{Doc: engine.Doc{Kind: "user", ID: "u1", Value: json.RawMessage(`{}`)}, ExpectVersion: 99}}}); engine.ErrorCode(err) != engine.ECONFLICT {
		t.Fatalf("stale write = %v, want a conflict", err)
	}
	check("after a failed change", true)

	// should the -shm file at the path not be the one opened, the cache
	// turns itself off at its next check
	a.vers.path += ".moved"
	a.vers.checked.Store(0)
	check("without the -shm file", false)
	want[0] = putDoc(t, b, "user", "u1")
	check("without the -shm file, after another store wrote the user", false)
}

// TestDocVersionsCacheConcurrent: while this store and another on the
// file bump a doc's version, readers of its version never see it go back
// and never see a version older than one whose write had returned before
// their read began. Run with -race.
func TestDocVersionsCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	a, b := twoStores(t)
	putDoc(t, a, "user", "u1")
	refs := []engine.DocRef{{Kind: "user", ID: "u1"}, {Kind: "app", ID: "shop"}}
	var done atomic.Int64 // highest version whose write has returned
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Value
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := int64(0)
			for {
				select {
				case <-stop:
					return
				default:
				}
				floor := done.Load()
				vs, err := a.DocVersions(ctx, refs)
				if err != nil {
					failed.Store(err.Error())
					return
				}
				if vs[0] < floor || vs[0] < last {
					failed.Store(fmt.Sprintf("reader %d: version %d after %d was written and %d was read", r, vs[0], floor, last))
					return
				}
				last = vs[0]
				if r%2 == 0 {
					if err := commitRead(a); err != nil { // this store's own commits, as requests make
						failed.Store(err.Error())
						return
					}
				}
			}
		}()
	}
	for i := range 200 {
		s := a
		if i%3 == 0 {
			s = b
		}
		done.Store(putDoc(t, s, "user", "u1"))
		if i%5 == 0 {
			readEvent(t, b)
		}
	}
	close(stop)
	wg.Wait()
	if f := failed.Load(); f != nil {
		t.Fatal(f)
	}
	vs, err := a.DocVersions(ctx, refs)
	if err != nil || vs[0] != done.Load() {
		t.Fatalf("final DocVersions = %v, %v; want %d", vs, err, done.Load())
	}
}

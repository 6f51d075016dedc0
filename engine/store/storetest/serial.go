package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"formwork/engine"
	"formwork/engine/filter"

	"github.com/google/go-cmp/cmp"
)

// claim is the serial claim the suite's records take: "SO-" and four digits
// of the counter key.
func claim(key string, digits int) engine.SerialClaim {
	return engine.SerialClaim{Field: "no", Counter: key, Prefix: "SO-", Digits: digits, Label: engine.T("单号", "Number")}
}

// createSerial creates a record with id that takes a number of c.
func createSerial(s engine.Store, id string, c engine.SerialClaim) (*engine.Record, error) {
	res, err := s.Apply(context.Background(), &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate,
		Record: newRecord(id, map[string]any{"name": id}), Actor: "alice", At: at(1), Serials: []engine.SerialClaim{c}}}})
	if err != nil {
		return nil, err
	}
	return res.Records[0], nil
}

// storedNumbers returns the "no" of every live record, sorted.
func storedNumbers(tb testing.TB, s engine.Store) []string {
	tb.Helper()
	var out []string
	q := engine.RecordQuery{App: testApp, Form: testForm, Limit: engine.MaxRecordLimit, Sort: []engine.SortKey{{Field: "no"}}}
	for {
		p, err := s.FindRecords(context.Background(), q)
		if err != nil {
			tb.Fatalf("FindRecords: %v", err)
		}
		for _, r := range p.Items {
			no, _ := r.Data["no"].(string)
			out = append(out, no)
		}
		if p.NextCursor == "" {
			break
		}
		q.Cursor = p.NextCursor
	}
	slices.Sort(out)
	return out
}

// numbers returns "SO-0001" … for 1..n in digits.
func numbers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("SO-%04d", i+1)
	}
	return out
}

func testSerials(t *testing.T, h Harness) {
	t.Run("Numbers", func(t *testing.T) {
		s := open(t, h)
		a := claim("form|shop|customer|no", 4)
		for i := 1; i <= 3; i++ {
			r, err := createSerial(s, fmt.Sprintf("r%d", i), a)
			if err != nil {
				t.Fatalf("create %d: %v", i, err)
			}
			if want := fmt.Sprintf("SO-%04d", i); r.Data["no"] != want {
				t.Errorf("create %d: no = %v, want %s (in the result)", i, r.Data["no"], want)
			}
		}
		// another counter starts at 1; a record given a number keeps it
		if r, err := createSerial(s, "other", claim("unit|shop|customer|no|u2", 4)); err != nil || r.Data["no"] != "SO-0001" {
			t.Fatalf("another counter: %v, %v; want SO-0001", r, err)
		}
		given := newRecord("given", map[string]any{"no": "SO-7777"})
		res := mustApply(t, s, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: given, Actor: "alice", At: at(2), Serials: []engine.SerialClaim{a}}}})
		if res.Records[0].Data["no"] != "SO-7777" {
			t.Errorf("a record with a number got %v, want it kept", res.Records[0].Data["no"])
		}
		if got := find(t, s, "r2", false).Data["no"]; got != "SO-0002" {
			t.Errorf("stored r2 no = %v, want SO-0002", got)
		}
		revs, err := s.FindRevisions(context.Background(), testApp, testForm, "r2")
		if err != nil || len(revs) != 1 || revs[0].Data["no"] != "SO-0002" {
			t.Errorf("revision 1 of r2 = %+v (%v), want it to hold SO-0002", revs, err)
		}
	})
	t.Run("UpdateNumbersOnlyEmpty", func(t *testing.T) {
		s := open(t, h)
		a := claim("k", 4)
		old := create(t, s, newRecord("old", map[string]any{"name": "before serials"}), at(1))
		numbered, err := createSerial(s, "numbered", a)
		if err != nil {
			t.Fatal(err)
		}
		// an update that claims fills the empty field (the back-fill) …
		res := mustApply(t, s, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteUpdate, Record: old, ExpectVersion: 1, Actor: "system", At: at(3), Serials: []engine.SerialClaim{a}}}})
		if res.Records[0].Data["no"] != "SO-0002" {
			t.Errorf("back-filled no = %v, want SO-0002", res.Records[0].Data["no"])
		}
		// … and never renumbers a record that has one
		res = mustApply(t, s, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteUpdate, Record: numbered, ExpectVersion: 1, Actor: "system", At: at(4), Serials: []engine.SerialClaim{a}}}})
		if res.Records[0].Data["no"] != "SO-0001" {
			t.Errorf("renumbered to %v, want SO-0001 kept", res.Records[0].Data["no"])
		}
		if d := cmp.Diff([]string{"SO-0001", "SO-0002"}, storedNumbers(t, s)); d != "" {
			t.Errorf("stored numbers (-want +got):\n%s", d)
		}
	})
	t.Run("Exhausted", func(t *testing.T) {
		s := open(t, h)
		a := claim("k", 1)
		for i := 1; i <= 9; i++ {
			if _, err := createSerial(s, fmt.Sprintf("r%d", i), a); err != nil {
				t.Fatalf("create %d: %v", i, err)
			}
		}
		_, err := createSerial(s, "r10", a)
		wantCode(t, err, engine.EINVALID, "the tenth number of one digit")
		var e *engine.Error
		if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "/no" || e.Fields[0].Code != "serial_exhausted" {
			t.Fatalf("exhausted error = %v, want a field error at /no", err)
		}
		if _, err := s.FindRecordByID(context.Background(), testApp, testForm, "r10", true); engine.ErrorCode(err) != engine.ENOTFOUND {
			t.Errorf("the refused record was written: %v", err)
		}
		if n, _ := s.CountRecords(context.Background(), engine.RecordQuery{App: testApp, Form: testForm}); n != 9 {
			t.Errorf("%d records after the refusal, want 9", n)
		}
	})
	t.Run("RolledBack", func(t *testing.T) {
		need(t, h.Capabilities.Transactions, "Transactions")
		s := open(t, h)
		a := claim("k", 4)
		mustApply(t, s, &engine.Change{Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: "k", ID: "taken", Value: []byte(`1`)}}}})
		// the record takes a number, then the change fails on the doc:
		// neither the record nor its number stays
		_, err := s.Apply(context.Background(), &engine.Change{
			Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: newRecord("lost", nil), Actor: "alice", At: at(1), Serials: []engine.SerialClaim{a}}},
			Docs:    []engine.DocWrite{{Doc: engine.Doc{Kind: "k", ID: "taken", Value: []byte(`2`)}}}})
		wantCode(t, err, engine.ECONFLICT, "a change whose doc is taken")
		if r, err := createSerial(s, "next", a); err != nil || r.Data["no"] != "SO-0001" {
			t.Errorf("after a rolled-back take: %v, %v; want SO-0001 (the number was never stored)", r, err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := open(t, h)
		concurrentCreates(t, []engine.Store{s}, 100)
	})
	t.Run("TwoNodes", func(t *testing.T) {
		if h.MakePair == nil {
			t.Skip("skipped: the harness opens no second store on the same data (MakePair)")
		}
		a, b, err := h.MakePair(context.Background(), t)
		if err != nil {
			t.Fatalf("MakePair: %v", err)
		}
		t.Cleanup(func() { a.Close(); b.Close() })
		concurrentCreates(t, []engine.Store{a, b}, 100)
	})
}

// concurrentCreates creates n records at once, spread over stores, each
// taking a number of one counter, and checks that they got 1…n, each once.
func concurrentCreates(t *testing.T, stores []engine.Store, n int) {
	t.Helper()
	a := claim("form|shop|customer|no", 4)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := createSerial(stores[i%len(stores)], fmt.Sprintf("c%03d", i), a); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent create: %v", err)
	}
	if d := cmp.Diff(numbers(n), storedNumbers(t, stores[0])); d != "" {
		t.Errorf("numbers of %d concurrent creates (-want +got):\n%s", n, d)
	}
	// every number is on exactly one record
	for _, no := range []string{"SO-0001", fmt.Sprintf("SO-%04d", n)} {
		c, err := stores[0].CountRecords(context.Background(), engine.RecordQuery{App: testApp, Form: testForm,
			Filter: eq(filter.Field{Key: "no", Type: filter.TypeString}, no)})
		if err != nil || c != 1 {
			t.Errorf("%d records hold %s (%v), want 1", c, no, err)
		}
	}
}

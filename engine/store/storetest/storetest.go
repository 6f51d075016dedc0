// Package storetest is the one conformance suite every engine.Store backend
// runs: a backend's TestConformance calls Run with a Harness that makes fresh,
// empty stores, and declares with Capabilities what it cannot do, so the
// suite skips those checks (saying why) instead of being forked.
//
// Semantics the suite fixes where engine/store.go leaves room:
//   - Times are stored with millisecond precision in UTC.
//   - A created record gets Version 1, CreatedAt = UpdatedAt = RecordWrite.At,
//     CreatedBy = UpdatedBy = Actor, Status "active" when empty.
//   - OpUpdate and OpDelete of a record in the recycle bin fail with ENOTFOUND;
//     OpRestore takes the state in RecordWrite.Record and clears DeletedAt.
//   - Revision 1's Changes are engine.DiffData(nil, data); later ones
//     DiffData(before, after). FindRevisions of a purged or unknown record is empty.
//   - FindDocs with Tag matches plain and unique tags. A doc put sets
//     Version to the old version + 1 (1 when new); a delete with a version
//     other than the stored one (and not AnyVersion) fails with ECONFLICT
//     and frees the doc's unique tags when it succeeds.
//   - An outbox job with an existing ID fails the Change with ECONFLICT;
//     OutboxDone of a job already done is a harmless no-op.
//   - Record cursors and audit cursors are opaque; a garbage or tampered
//     one gives EINVALID, as does a cursor used with another sort order.
//   - FindAuditEvents: From inclusive, To exclusive, newest (highest Seq) first.
//   - Filters: see filterCases; $ne/$nin match records where the field is
//     missing; $exists true means present and not null; range operators
//     compare numbers with numbers and strings with strings only; $eq on an
//     array field matches any element.
//   - Sorting puts missing values first ascending and last descending.
package storetest

import (
	"context"
	"testing"

	"formwork/engine"
)

// Harness is what a backend gives Run. A backend's test looks like:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{
//			MakeStore: func(ctx context.Context, tb testing.TB) (engine.Store, error) {
//				return sqlite.Open(filepath.Join(tb.TempDir(), "f.db"), sqlite.Options{})
//			},
//			Capabilities: storetest.All,
//		})
//	}
type Harness struct {
	// MakeStore returns a fresh, empty store for one subtest. Run closes it
	// when the subtest ends; anything else to clean up, register with
	// tb.Cleanup. Returning an error fails the subtest.
	MakeStore func(ctx context.Context, tb testing.TB) (engine.Store, error)
	// Capabilities declares what the backend can do.
	Capabilities Capabilities
	// MakePair, when set, returns two stores on one fresh set of data, as
	// two processes (nodes) would open it; Run closes neither.
	MakePair func(ctx context.Context, tb testing.TB) (engine.Store, engine.Store, error)
}

// Capabilities are the guarantees a backend may lack. A false flag makes Run
// skip the checks that need it, with t.Skip naming the flag.
type Capabilities struct {
	// Transactions: Apply is all or nothing (a later failing part leaves
	// nothing of the Change visible), and concurrent Applies that append
	// audit events form one gap-free chain.
	Transactions bool
	// ConcurrentAtomicUpdates: concurrent updates of one record with the
	// same expected version let exactly one land; the others get ECONFLICT.
	ConcurrentAtomicUpdates bool
	// Regex: $regex filters are supported.
	Regex bool
}

// All is every capability; SQLite declares it.
var All = Capabilities{Transactions: true, ConcurrentAtomicUpdates: true, Regex: true}

// Run runs the whole suite against h.
func Run(t *testing.T, h Harness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"RecordCRUD", testRecordCRUD},
		{"ListedAsRead", testListedAsRead},
		{"RecycleBin", testRecycleBin},
		{"Revisions", testRevisions},
		{"Atomicity", testAtomicity},
		{"OptimisticConcurrency", testOptimisticConcurrency},
		{"Docs", testDocs},
		{"DocVersions", testDocVersions},
		{"AuditChain", testAuditChain},
		{"AuditQuery", testAuditQuery},
		{"AuditWriter", testAuditWriter},
		{"Outbox", testOutbox},
		{"Filter", testFilter},
		{"SortPaging", testSortPaging},
		{"SortTies", testSortTies},
		{"PagingConcurrentInserts", testPagingConcurrentInserts},
		{"BadCursor", testBadCursor},
		{"Unicode", testUnicode},
		{"Indexes", testIndexes},
		{"Group", testGroup},
		{"Serials", testSerials},
		{"TextSearch", testTextSearch},
		{"ConcurrentApply", testConcurrentApply},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// open makes a fresh store for one subtest and closes it at the end.
func open(tb testing.TB, h Harness) engine.Store {
	tb.Helper()
	s, err := h.MakeStore(context.Background(), tb)
	if err != nil {
		tb.Fatalf("MakeStore: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func need(tb testing.TB, ok bool, flag string) {
	tb.Helper()
	if !ok {
		tb.Skipf("skipped: the backend declares no %s capability", flag)
	}
}

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"formwork/engine"
)

// endingCtx is a context that can end and ends after its first n calls
// of Err.
type endingCtx struct {
	context.Context
	n int
}

func (c *endingCtx) Done() <-chan struct{} { return make(chan struct{}) }

func (c *endingCtx) Err() error {
	if c.n > 0 {
		c.n--
		return nil
	}
	return context.Canceled
}

// TestFindRecordsEndedContext: a page's query runs detached from its
// request (detachCtx) but still ends with it: at once when the request has
// ended before, and at the next row when it ends while the rows are read.
func TestFindRecordsEndedContext(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for i := range 3 {
		rec := &engine.Record{ID: fmt.Sprintf("r%d", i), App: "shop", Form: "customers", FormVersion: 1, Unit: "u", Owner: "o", Status: "active",
			CreatedAt: t0, CreatedBy: "c", UpdatedAt: t0, UpdatedBy: "c", Data: map[string]any{"n": i}}
		if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: rec, Actor: "c", At: t0}}}); err != nil {
			t.Fatal(err)
		}
	}
	q := engine.RecordQuery{App: "shop", Form: "customers"}
	if page, err := s.FindRecords(&endingCtx{Context: ctx, n: 100}, q); err != nil || len(page.Items) != 3 {
		t.Fatalf("a context that does not end: %+v, %v; want 3 records", page, err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.FindRecords(ended, q); !errors.Is(err, context.Canceled) {
		t.Fatalf("an ended context: err = %v, want context.Canceled", err)
	}
	// the first Err is detachCtx's, the second the first row's; the second row finds it ended
	if page, err := s.FindRecords(&endingCtx{Context: ctx, n: 2}, q); !errors.Is(err, context.Canceled) {
		t.Fatalf("a context that ends at the second row: %+v, %v; want context.Canceled", page, err)
	}
}

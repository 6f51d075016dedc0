package engine

import (
	"context"
	"slices"
	"sync"
	"testing"
)

// gateStore holds its first Apply until open is closed and records the
// size of every batch; the rest of Store is not used.
type gateStore struct {
	Store
	entered chan struct{} // closed when the first Apply starts
	open    chan struct{}
	mu      sync.Mutex
	sizes   []int
}

func (s *gateStore) Apply(_ context.Context, c *Change) (*ChangeResult, error) {
	s.mu.Lock()
	first := len(s.sizes) == 0
	s.sizes = append(s.sizes, len(c.Audit))
	s.mu.Unlock()
	if first {
		close(s.entered)
		<-s.open
	}
	return &ChangeResult{Audit: c.Audit}, nil
}

// TestAuditWriterCallerCommits: a Write that finds the writer idle commits
// its event alone; the events that arrive meanwhile wait and are then
// committed together in one batch; Close waits for all of them.
func TestAuditWriterCallerCommits(t *testing.T) {
	st := &gateStore{entered: make(chan struct{}), open: make(chan struct{})}
	w := NewAuditWriter(st, AuditWriterOptions{})
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { first <- w.Write(ctx, &AuditEvent{Action: "view", Object: "first"}) }()
	<-st.entered // the first event is committing
	const n = 5
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- w.Write(ctx, &AuditEvent{Action: "view", Object: string(rune('a' + i))})
		}()
	}
	// the waiting events are queued before the first commit ends
	for {
		w.mu.Lock()
		queued := len(w.queue)
		w.mu.Unlock()
		if queued == n {
			break
		}
	}
	closed := make(chan struct{})
	go func() { _ = w.Close(); close(closed) }()
	close(st.open)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Write: %v", err)
		}
	}
	<-closed
	if want := []int{1, n}; !slices.Equal(st.sizes, want) {
		t.Errorf("batches of %v events, want %v", st.sizes, want)
	}
	if err := w.Write(ctx, &AuditEvent{Action: "view"}); ErrorCode(err) != EUNAVAILABLE {
		t.Errorf("Write after Close: %v, want EUNAVAILABLE", err)
	}
}

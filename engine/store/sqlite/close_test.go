package sqlite

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"formwork/engine"
)

// TestCloseUnderReads closes a store while many reads more than its read
// pool holds are under way, as a process does when it stops under load:
// Close returns, and so does every read (with its rows or an error).
// Close once waited, holding the statement cache's lock, for a read that
// waited for a connection that a read blocked on that lock held.
func TestCloseUnderReads(t *testing.T) {
	ctx := context.Background()
	for round := range 40 {
		s, err := Open(filepath.Join(t.TempDir(), "fw.db"), Options{Readers: 2})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{
			{Doc: engine.Doc{Kind: "user", ID: "u1", Value: json.RawMessage(`{"n":1}`)}, ExpectVersion: engine.AnyVersion},
		}}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		started := make(chan struct{}, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					if i == 10 {
						started <- struct{}{}
					}
					if _, err := s.FindDocs(ctx, engine.DocQuery{Kind: "user"}); err != nil {
						return // closed
					}
					if _, err := s.FindDoc(ctx, "user", "u1"); err != nil {
						return
					}
				}
			}()
		}
		for range 16 {
			<-started
		}
		done := make(chan struct{})
		go func() {
			s.Close()
			wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: Close and the reads under it did not return in 20s", round)
		}
	}
}

package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"formwork/engine"
)

// testConcurrentApply: changes applied at the same time each get their own
// outcome (a store may commit them together): the creates land with their
// audit events in one unbroken chain, and a create of an id that exists is
// refused without taking the others with it.
func testConcurrentApply(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	create(t, s, newRecord("taken", map[string]any{"name": "first"}), at(0))
	const n = 24
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("c%02d", i)
			if i%4 == 3 {
				id = "taken"
			}
			_, errs[i] = s.Apply(ctx, &engine.Change{
				Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: newRecord(id, map[string]any{"name": id}), Actor: "alice", At: at(i + 1)}},
				Audit:   []*engine.AuditEvent{ev("alice", "create", id, at(i+1))},
				Lazy:    i%2 == 0})
		}()
	}
	wg.Wait()
	audits := int64(0)
	for i, err := range errs {
		if i%4 == 3 {
			if engine.ErrorCode(err) != engine.ECONFLICT {
				t.Errorf("create %d of an existing id: %v, want ECONFLICT", i, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("create %d: %v", i, err)
			continue
		}
		audits++
		if r := find(t, s, fmt.Sprintf("c%02d", i), false); r.Data["name"] != fmt.Sprintf("c%02d", i) {
			t.Errorf("record c%02d: %+v", i, r)
		}
	}
	if r := find(t, s, "taken", false); r.Data["name"] != "first" {
		t.Errorf("the existing record changed: %+v", r)
	}
	verify(t, s, audits)
}

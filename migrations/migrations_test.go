package migrations

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/store/sqlite"
)

func newStore(tb testing.TB) engine.Store {
	tb.Helper()
	s, err := sqlite.Open(filepath.Join(tb.TempDir(), "formwork.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

var clock = func() time.Time { return time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) }

func TestApplyCreatesTheRootUnitOnce(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	applied, err := Apply(ctx, s, clock)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"0001_root_unit", "0002_serial_numbers"}, applied); diff != "" {
		t.Errorf("first Apply (-want +got):\n%s", diff)
	}
	again, err := Apply(ctx, s, clock)
	if err != nil || len(again) != 0 {
		t.Errorf("second Apply = %v, %v; want nothing applied", again, err)
	}
	org := engine.NewOrg(s, clock)
	units, err := org.ListUnits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != 1 || units[0].Key != "hq" || units[0].Name != engine.T("总部", "Headquarters") || units[0].Parent != "" {
		t.Fatalf("units = %+v, want the root hq", units)
	}
	// The root works with the org model: a child goes under it.
	if _, err := org.CreateUnit(ctx, engine.AuditActor{ID: "admin"}, engine.Unit{Key: "east", Name: engine.T("华东", "East"), Parent: "hq"}); err != nil {
		t.Fatal(err)
	}
	below, err := org.UnitKeysBelow(ctx, "hq")
	if diff := cmp.Diff([]string{"hq", "east"}, below); diff != "" || err != nil {
		t.Errorf("UnitKeysBelow(hq) (-want +got): %v\n%s", err, diff)
	}
	recorded, err := Applied(ctx, s)
	if diff := cmp.Diff([]string{"0001_root_unit", "0002_serial_numbers"}, recorded); diff != "" || err != nil {
		t.Errorf("Applied (-want +got): %v\n%s", err, diff)
	}
	var actions []string
	_ = s.WalkAudit(ctx, 0, func(e *engine.AuditEvent) error { actions = append(actions, e.Action+" "+e.Object); return nil })
	if diff := cmp.Diff([]string{"unit.create hq", "migration.apply 0001_root_unit", "migration.apply 0002_serial_numbers", "unit.create east"}, actions); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}

func TestRootUnitKeepsAnExistingTree(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	org := engine.NewOrg(s, clock)
	if _, err := org.CreateUnit(ctx, engine.AuditActor{ID: "admin"}, engine.Unit{Key: "group", Name: engine.T("集团", "Group")}); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, s, clock); err != nil {
		t.Fatal(err)
	}
	units, _ := org.ListUnits(ctx)
	if len(units) != 1 || units[0].Key != "group" {
		t.Errorf("units = %+v, want only the existing root", units)
	}
}

func TestConcurrentApplyRecordsEachMigrationOnce(t *testing.T) {
	s := newStore(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = Apply(context.Background(), s, clock) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	units, _ := engine.NewOrg(s, clock).ListUnits(context.Background())
	if len(units) != 1 {
		t.Errorf("%d units, want 1", len(units))
	}
	n, brk, err := engine.VerifyAudit(context.Background(), s)
	if err != nil || brk != nil || n != 3 {
		t.Errorf("VerifyAudit = %d, %+v, %v; want 3 intact events (the unit, two migrations)", n, brk, err)
	}
}

func TestFailingMigrationStopsAndIsRetried(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	fail := true
	steps := []Migration{
		{ID: "0001_a", Plan: func(context.Context, engine.Store, time.Time) (*engine.Change, error) { return nil, nil }},
		{ID: "0002_b", Plan: func(context.Context, engine.Store, time.Time) (*engine.Change, error) {
			if fail {
				return nil, errors.New("boom")
			}
			return nil, nil
		}},
		{ID: "0003_c", Plan: func(context.Context, engine.Store, time.Time) (*engine.Change, error) { return nil, nil }},
	}
	applied, err := apply(ctx, s, clock, steps)
	if err == nil || !cmp.Equal([]string{"0001_a"}, applied) {
		t.Fatalf("apply = %v, %v; want 0001_a applied and an error", applied, err)
	}
	fail = false
	applied, err = apply(ctx, s, clock, steps)
	if err != nil || !cmp.Equal([]string{"0002_b", "0003_c"}, applied) {
		t.Fatalf("retry = %v, %v; want 0002_b and 0003_c", applied, err)
	}
}

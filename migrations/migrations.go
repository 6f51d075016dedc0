// Package migrations holds Formwork's numbered data migrations. They are
// written against engine's interfaces only, so they run on every store;
// each backend creates its own tables when it opens. A migration that ran is
// recorded as a doc of kind "migration" with the migration's id, written in
// the same Change as its effect and its audit event, so it runs once even
// when several processes start at the same time.
package migrations

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"formwork/engine"
)

// KindMigration is the doc kind that records an applied migration.
const KindMigration = "migration"

// Migration is one numbered step. Plan inspects the store and returns the
// Change that performs the step (nil when there is nothing to do); Apply
// adds the migration record and the audit event to that Change. Plan must
// be idempotent: it looks before it writes.
type Migration struct {
	ID   string // "0001_root_unit": number, then what it does
	Plan func(ctx context.Context, s engine.Store, now time.Time) (*engine.Change, error)
}

// record is the value of a migration doc.
type record struct {
	ID        string    `json:"id"`
	AppliedAt time.Time `json:"applied_at"`
	Changed   bool      `json:"changed"` // false when the step found nothing to do
}

// All lists the migrations in the order they apply (those that read the
// organisation's time zone as UTC; ApplyIn gives them the real one).
var All = steps(time.UTC)

// steps lists the migrations for the organisation's time zone.
func steps(zone *time.Location) []Migration {
	return []Migration{
		{ID: "0001_root_unit", Plan: rootUnit},
		{ID: "0002_serial_numbers", Plan: serialNumbers(zone)},
	}
}

// Apply runs every migration not yet recorded in s, in order, and returns
// the ids of those it applied. clock gives the time (time.Now when nil).
// Running it again applies nothing; two processes running it at once both
// succeed, and each migration is recorded once. Dates are read in UTC
// (see ApplyIn).
func Apply(ctx context.Context, s engine.Store, clock func() time.Time) ([]string, error) {
	return apply(ctx, s, clock, All)
}

// ApplyIn is Apply with the organisation's time zone, in which the serial
// numbers of old records get their date part.
func ApplyIn(ctx context.Context, s engine.Store, clock func() time.Time, zone *time.Location) ([]string, error) {
	if zone == nil {
		zone = time.UTC
	}
	return apply(ctx, s, clock, steps(zone))
}

func apply(ctx context.Context, s engine.Store, clock func() time.Time, all []Migration) ([]string, error) {
	if clock == nil {
		clock = time.Now
	}
	var applied []string
	for _, m := range all {
		_, err := s.FindDoc(ctx, KindMigration, m.ID)
		if err == nil {
			continue
		}
		if engine.ErrorCode(err) != engine.ENOTFOUND {
			return applied, fmt.Errorf("migration %s: %w", m.ID, err)
		}
		now := clock()
		c, err := m.Plan(ctx, s, now)
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", m.ID, err)
		}
		changed := c != nil
		if c == nil {
			c = &engine.Change{}
		}
		rec, _ := json.Marshal(record{ID: m.ID, AppliedAt: now.UTC(), Changed: changed})
		c.Docs = append(c.Docs, engine.DocWrite{Doc: engine.Doc{Kind: KindMigration, ID: m.ID, Version: 1, Value: rec, Updated: now}})
		c.Audit = append(c.Audit, &engine.AuditEvent{Time: now, Actor: engine.SystemActor, Action: "migration.apply", Object: m.ID, Result: engine.ResultOK})
		if _, err := s.Apply(ctx, c); err != nil {
			if engine.ErrorCode(err) == engine.ECONFLICT {
				// Another process applied it (or its effect) meanwhile.
				if _, ferr := s.FindDoc(ctx, KindMigration, m.ID); ferr == nil {
					continue
				}
			}
			return applied, fmt.Errorf("migration %s: %w", m.ID, err)
		}
		applied = append(applied, m.ID)
	}
	return applied, nil
}

// Applied returns the ids of the migrations recorded in s, in id order.
func Applied(ctx context.Context, s engine.Store) ([]string, error) {
	docs, err := s.FindDocs(ctx, engine.DocQuery{Kind: KindMigration})
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}

// RootUnit is the key of the unit 0001 creates.
const RootUnit = "hq"

// rootUnit creates the root unit "hq" (总部 / Headquarters) when the store
// has no unit at all.
func rootUnit(ctx context.Context, s engine.Store, now time.Time) (*engine.Change, error) {
	units, err := s.FindDocs(ctx, engine.DocQuery{Kind: engine.KindUnit, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(units) > 0 {
		return nil, nil
	}
	u := engine.Unit{Key: RootUnit, Name: engine.T("总部", "Headquarters"), CreatedAt: now.UTC()}
	v, err := json.Marshal(u)
	if err != nil {
		return nil, err
	}
	return &engine.Change{
		Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: engine.KindUnit, ID: u.Key, Version: 1, Value: v, Updated: now}}},
		Audit: []*engine.AuditEvent{{Time: now, Actor: engine.SystemActor, Action: "unit.create", Object: u.Key,
			Fields: []string{"key", "name", "parent"}, Result: engine.ResultOK, Detail: json.RawMessage(`{"name":{"zh":"总部","en":"Headquarters"},"parent":""}`)}},
	}, nil
}

// serialNumbers numbers the records written before the engine gave serial
// fields their numbers (engine.BackfillSerials): in batches that each
// commit on their own, so a process stopped half way leaves numbered
// records numbered and the next start numbers the rest (the step is
// recorded only once it finished).
func serialNumbers(zone *time.Location) func(ctx context.Context, s engine.Store, now time.Time) (*engine.Change, error) {
	return func(ctx context.Context, s engine.Store, now time.Time) (*engine.Change, error) {
		n, err := engine.BackfillSerials(ctx, s, zone, func() time.Time { return now })
		if err != nil || n == 0 {
			return nil, err
		}
		return &engine.Change{}, nil
	}
}

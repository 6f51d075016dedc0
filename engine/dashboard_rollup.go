package engine

import (
	"context"
	"errors"
	"fmt"
)

// EnsureAppIndexes gives every app's current forms the indexes and
// dashboard rollups its bundle asks for (see ensureFormIndexes), as a
// publish does: run when a process starts, it builds the rollups a store
// lacks (after an upgrade, or a store restored from an older backup) and
// does nothing where they are as they should be. An app whose indexes
// fail is named in the error; the others get theirs.
func (s *Service) EnsureAppIndexes(ctx context.Context) error {
	apps, err := s.store.FindDocs(ctx, DocQuery{Kind: KindApp})
	if err != nil {
		return fmt.Errorf("app indexes: %w", err)
	}
	var errs []error // one app's failure leaves the others theirs
	for _, d := range apps {
		b, _, err := s.Bundle(ctx, d.ID, 0)
		if err == nil {
			err = s.ensureFormIndexes(ctx, b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("app indexes of %s: %w", d.ID, err))
		}
	}
	return errors.Join(errs...)
}

// ensureFormIndexes asks the store for the indexes and rollups of b's
// forms: x-index fields and the fields dashboards group by are indexed,
// the dashboards' totals kept (dashboardRollup).
func (s *Service) ensureFormIndexes(ctx context.Context, b *Bundle) error {
	for _, f := range b.Forms {
		ix := formIndex(b, f)
		ix.Rollup = dashboardRollup(b, f)
		if err := s.store.EnsureIndexes(ctx, ix); err != nil {
			return fmt.Errorf("app %s: indexes of %s: %w", b.App.Key, f.Key, err)
		}
	}
	return nil
}

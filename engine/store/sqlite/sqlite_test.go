package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/store/sqlite"
	"formwork/engine/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		MakeStore: func(_ context.Context, tb testing.TB) (engine.Store, error) {
			return sqlite.Open(filepath.Join(tb.TempDir(), "formwork.db"), sqlite.Options{
				Now: func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
			})
		},
		Capabilities: storetest.All,
		MakePair: func(_ context.Context, tb testing.TB) (engine.Store, engine.Store, error) {
			path := filepath.Join(tb.TempDir(), "formwork.db")
			a, err := sqlite.Open(path, sqlite.Options{})
			if err != nil {
				return nil, nil, err
			}
			b, err := sqlite.Open(path, sqlite.Options{})
			if err != nil {
				a.Close()
				return nil, nil, err
			}
			return a, b, nil
		},
	})
}

package engine

import (
	"context"
	"slices"
	"testing"

	"formwork/engine/filter"
)

// pageStore answers every FindRecords with an empty page; the rest of
// Store is not used.
type pageStore struct{ Store }

func (pageStore) FindRecords(context.Context, RecordQuery) (*RecordPage, error) {
	return &RecordPage{}, nil
}

// TestEncryptingStoreRequestVersion: a query that carries the app version
// its request resolved has its form looked up at that version, and one
// that does not asks for the current version (0), which reads the app
// document.
func TestEncryptingStoreRequestVersion(t *testing.T) {
	var asked []int
	forms := func(_ context.Context, app, form string, version int) (*Form, error) {
		asked = append(asked, version)
		return &Form{Key: form}, nil
	}
	s := NewEncryptingStore(pageStore{}, nil, forms)
	flt := filter.Cmp{Field: filter.Field{Key: "level", Type: filter.TypeString}, Op: filter.OpEq, Value: "gold"}
	ctx := context.Background()
	if _, err := s.FindRecords(ctx, RecordQuery{App: "a", Form: "f", Filter: flt, appVersion: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindRecords(ctx, RecordQuery{App: "a", Form: "f", Filter: flt}); err != nil {
		t.Fatal(err)
	}
	if want := []int{7, 0}; !slices.Equal(asked, want) {
		t.Errorf("form versions looked up %v, want %v", asked, want)
	}
}

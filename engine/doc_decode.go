package engine

import (
	"context"
	"encoding/json"
	"fmt"
)

// DecodeDoc decodes a stored doc's JSON value into v.
func DecodeDoc[T any](d *Doc, v *T) error {
	if err := json.Unmarshal(d.Value, v); err != nil {
		return fmt.Errorf("decode %s %s: %w", d.Kind, d.ID, err)
	}
	return nil
}

// findDocAs reads the doc kind/id and decodes its value; it returns the
// doc's version for a later conditional write.
func findDocAs[T any](ctx context.Context, st Store, kind, id string) (*T, int64, error) {
	d, err := st.FindDoc(ctx, kind, id)
	if err != nil {
		return nil, 0, err
	}
	var v T
	if err := DecodeDoc(d, &v); err != nil {
		return nil, 0, err
	}
	return &v, d.Version, nil
}

// decodeEach decodes the docs' values, keeping those keep accepts (nil:
// all). A doc that does not decode is left out rather than failing the
// whole list: one damaged doc must not hide all the others from the
// pages that list them (audit verify and backups still read it).
func decodeEach[T any](docs []*Doc, keep func(*T) bool) []*T {
	out := make([]*T, 0, len(docs))
	for _, d := range docs {
		var v T
		if DecodeDoc(d, &v) != nil || keep != nil && !keep(&v) {
			continue
		}
		out = append(out, &v)
	}
	return out
}

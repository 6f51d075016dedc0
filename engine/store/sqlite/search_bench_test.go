package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/filter"
)

// BenchmarkSearch measures the list's full-text search (filter.Text over
// the FTS5 index) on FORMWORK_BENCH_RECORDS records (default 100000): a
// first page of 50, newest first, and the count a list shows.
func BenchmarkSearch(b *testing.B) {
	n := envInt("FORMWORK_BENCH_RECORDS", 100000)
	s, path := recordsStore(b, n)
	reportSize(b, path)
	ctx := context.Background()
	fields := []filter.Field{{Key: "name", Type: filter.TypeString}, {Key: "city", Type: filter.TypeString}, {Key: "level", Type: filter.TypeString}}
	text := func(q string) filter.Expr {
		t, ok := filter.NewText(fields, q)
		if !ok {
			b.Fatalf("no terms in %q", q)
		}
		return t
	}
	phone := filter.Field{Key: "phone", Type: filter.TypeString}
	phoneText, _ := filter.NewText([]filter.Field{phone}, fmt.Sprintf("%08d", n/2))
	for _, tc := range []struct {
		name string
		f    filter.Expr
	}{
		{"city_common", text("成都")},                     // one record in 12
		{"name_rare", text(fmt.Sprintf("r%012d", n/2))}, // one record
		{"name_prefix_char", text("客")},                 // every record, by prefix
		{"phone_digits", phoneText},                     // one record, inside a number
		{"city_and_level", filter.And{Items: []filter.Expr{text("成都"), eqLevel("L6")}}},
		// the search before the index, for comparison: a case-folded
		// regular expression over each field, record by record
		{"name_rare_by_regex", filter.Or{Items: []filter.Expr{
			filter.Regex{Field: fields[0], Pattern: fmt.Sprintf("r%012d", n/2), Fold: true},
			filter.Regex{Field: fields[1], Pattern: fmt.Sprintf("r%012d", n/2), Fold: true},
			filter.Regex{Field: fields[2], Pattern: fmt.Sprintf("r%012d", n/2), Fold: true}}}},
	} {
		q := engine.RecordQuery{App: "shop", Form: "customer", Limit: 50, Filter: tc.f}
		b.Run(fmt.Sprintf("page/%s/N=%d", tc.name, n), func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				t := time.Now()
				p, err := s.FindRecords(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Items) == 0 {
					b.Fatal("empty page")
				}
				lat = append(lat, time.Since(t))
			}
			reportPercentiles(b, lat)
		})
		b.Run(fmt.Sprintf("count/%s/N=%d", tc.name, n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := s.CountRecords(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"formwork/engine"
	"formwork/engine/filter"
)

// BenchmarkSearchAfterCreates is the search of one customer's name (as
// BenchmarkPeerCreate's) right after pending creates whose index writes
// the search makes first (the background flush held back), 4,000
// customers stored: what a search pays for the writes before it.
func BenchmarkSearchAfterCreates(b *testing.B) {
	for _, k := range []int{0, 1, 15} {
		b.Run(fmt.Sprintf("pending=%d", k), func(b *testing.B) {
			ctx := context.Background()
			s := benchStore(b)
			s.HoldTextFlush()
			rng := rand.New(rand.NewPCG(1, 0x5eed))
			n := 0
			create := func() {
				if _, err := s.Apply(ctx, peerChange(rng, n)); err != nil {
					b.Fatal(err)
				}
				n++
			}
			search := func() {
				name, _ := filter.NewText([]filter.Field{{Key: "name", Type: filter.TypeString}}, "Customer "+strconv.Itoa(n))
				p, err := s.FindRecords(ctx, engine.RecordQuery{App: "bench", Form: "customers", Limit: 50, Filter: name})
				if err != nil || len(p.Items) == 0 {
					b.Fatalf("search: %v, %v", p, err)
				}
			}
			for range 4000 {
				create()
			}
			search()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for range k {
					create()
				}
				b.StartTimer()
				search()
			}
		})
	}
}

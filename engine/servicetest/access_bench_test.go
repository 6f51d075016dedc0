package servicetest_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"formwork/engine"
)

// BenchmarkACLTax measures the list latency of a restricted role (staff:
// own scope, masked phone, hidden discount) against the admin's on the
// same data, through the Service on SQLite with encryption at rest.
// FORMWORK_BENCH_RECORDS sets the number of records (default 10,000; the
// figure in the notes is at 100,000). Staff1 owns one record in ten.
func BenchmarkACLTax(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("FORMWORK_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	f := newAccessFixture(b, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers[:3], Encrypt: true})
	ctx := context.Background()
	staff, other := f.users["staff1"].User, f.users["staff2"].User
	const batch = 1000
	for i := 0; i < n; i += batch {
		ch := &engine.Change{}
		for j := i; j < min(i+batch, n); j++ {
			owner := other
			if j%10 == 0 {
				owner = staff
			}
			r := &engine.Record{ID: engine.NewID(f.clock.Now()), App: "shop", Form: "customer", FormVersion: 1, Unit: owner.Unit, Owner: owner.ID,
				Status: engine.StatusActive, Data: map[string]any{"name": fmt.Sprintf("客户%06d", j), "phone": fmt.Sprintf("139%08d", j), "level": "normal",
					"budget": float64(j), "discount": 0.05, "final_price": float64(j) * 0.95}}
			ch.Records = append(ch.Records, engine.RecordWrite{Op: engine.WriteCreate, Record: r, Actor: owner.ID, At: f.clock.Now()})
		}
		if _, err := f.store.Apply(ctx, ch); err != nil {
			b.Fatal(err)
		}
	}
	for _, who := range []string{"admin", "staff1"} {
		p := f.users[who]
		b.Run(who, func(b *testing.B) {
			for b.Loop() {
				l, err := f.svc.ListRecords(ctx, p, "shop", "customer", engine.ListQuery{Limit: 50})
				if err != nil || len(l.Items) != 50 {
					b.Fatalf("%v %d", err, len(l.Items))
				}
			}
		})
	}
}

package queue_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"formwork/engine/queue"
	"formwork/engine/queue/redistest"
)

// rateRedisDB is the database the rate-limit tests use on a real Redis
// (the server package's rate-limit tests use it too).
// Their keys are unique to each run and expire, so nothing is wiped.
const rateRedisDB = 13

// testKey is a rate-limit key no other test or run uses.
func testKey(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "test:" + tb.Name() + ":" + hex.EncodeToString(b)
}

type rateBackend struct {
	conn asynq.RedisConnOpt
	addr string
	db   int
}

// rateBackends are the Redis servers the limiter runs on: the embedded
// one always, a real Redis when FORMWORK_TEST_REDIS_ADDR is set.
func rateBackends(tb testing.TB) map[string]rateBackend {
	tb.Helper()
	e, err := queue.StartEmbedded(queue.EmbeddedOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Close)
	out := map[string]rateBackend{"miniredis": {e.ConnOpt(), e.Addr(), 0}}
	if addr := os.Getenv("FORMWORK_TEST_REDIS_ADDR"); addr != "" {
		out["redis"] = rateBackend{asynq.RedisClientOpt{Addr: addr, DB: rateRedisDB}, addr, rateRedisDB}
	} else {
		tb.Log("FORMWORK_TEST_REDIS_ADDR not set: the limiter is tested on the embedded server only")
	}
	return out
}

func newRates(tb testing.TB, conn asynq.RedisConnOpt, o queue.RateOptions) *queue.RedisRates {
	tb.Helper()
	r, err := queue.NewRedisRates(conn, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	return r
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestRedisRatesBurstAndRefill: a full bucket lets burst requests through
// at once, then one more every 1/rate, and says how long to wait; an idle
// bucket fills up to burst and no further.
func TestRedisRatesBurstAndRefill(t *testing.T) {
	for name, b := range rateBackends(t) {
		t.Run(name, func(t *testing.T) {
			clk := &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
			r := newRates(t, b.conn, queue.RateOptions{Clock: clk.now})
			key := testKey(t)
			type step struct {
				Allowed bool
				Retry   time.Duration
			}
			allow := func() step {
				t.Helper()
				ok, retry, err := r.Allow(context.Background(), key, 2, 3)
				if err != nil {
					t.Fatal(err)
				}
				return step{ok, retry}
			}
			var got []step
			for i := 0; i < 4; i++ {
				got = append(got, allow())
			}
			clk.add(499 * time.Millisecond)
			got = append(got, allow())
			clk.add(time.Millisecond)
			got = append(got, allow(), allow())
			want := []step{{true, 0}, {true, 0}, {true, 0}, {false, 500 * time.Millisecond},
				{false, time.Millisecond}, {true, 0}, {false, 500 * time.Millisecond}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("burst 3 at 2/s (-want +got):\n%s", diff)
			}

			// ten idle seconds refill the bucket to its burst, not to 20
			clk.add(10 * time.Second)
			got = nil
			for i := 0; i < 4; i++ {
				got = append(got, allow())
			}
			want = []step{{true, 0}, {true, 0}, {true, 0}, {false, 500 * time.Millisecond}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("after idling (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRedisRatesKeysExpire: the key is namespaced and lives only until
// its bucket would be full again, so idle clients leave nothing behind.
func TestRedisRatesKeysExpire(t *testing.T) {
	for name, b := range rateBackends(t) {
		t.Run(name, func(t *testing.T) {
			r := newRates(t, b.conn, queue.RateOptions{})
			key := testKey(t)
			for i := 0; i < 5; i++ {
				if ok, _, err := r.Allow(context.Background(), key, 1, 10); err != nil || !ok {
					t.Fatalf("request %d: %v %v", i, ok, err)
				}
			}
			reply, err := redistest.Command(b.addr, b.db, "PTTL", queue.RateKeyPrefix+key)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := strconv.Atoi(reply[1:])
			if err != nil {
				t.Fatalf("PTTL %s: %q", queue.RateKeyPrefix+key, reply)
			}
			// five requests at 1/s: full again in five seconds
			if ms <= 4000 || ms > 5000 {
				t.Errorf("PTTL = %d ms, want about 5000", ms)
			}
		})
	}
}

// TestRedisRatesConcurrent: many clients at once on one key get exactly
// burst requests through — the script decides atomically.
func TestRedisRatesConcurrent(t *testing.T) {
	for name, b := range rateBackends(t) {
		t.Run(name, func(t *testing.T) {
			key := testKey(t)
			var allowed atomic.Int64
			var wg sync.WaitGroup
			for c := 0; c < 10; c++ {
				r := newRates(t, b.conn, queue.RateOptions{}) // a node each
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 10; i++ {
						ok, _, err := r.Allow(context.Background(), key, 0.001, 37)
						if err != nil {
							t.Error(err)
							return
						}
						if ok {
							allowed.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			if got := allowed.Load(); got != 37 {
				t.Errorf("%d of 100 allowed, want the burst, 37", got)
			}
		})
	}
}

// TestRedisRatesUnreachable: with Redis gone, Allow answers with an error
// within its timeout instead of holding the request; a limit that is off
// never asks.
func TestRedisRatesUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := newRates(t, asynq.RedisClientOpt{Addr: addr, DialTimeout: 10 * time.Second}, queue.RateOptions{Timeout: 200 * time.Millisecond})
	start := time.Now()
	if ok, _, err := r.Allow(context.Background(), "ip:192.0.2.1", 10, 10); err == nil {
		t.Errorf("no error from an unreachable Redis (allowed %v)", ok)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the error took %s", d)
	}
	if ok, _, err := r.Allow(context.Background(), "ip:192.0.2.1", 0, 10); !ok || err != nil {
		t.Errorf("a limit that is off: %v, %v", ok, err)
	}
}

// BenchmarkRedisRatesAllow is one decision: one EVALSHA round trip.
func BenchmarkRedisRatesAllow(b *testing.B) {
	for name, be := range rateBackends(b) {
		b.Run(name, func(b *testing.B) {
			r := newRates(b, be.conn, queue.RateOptions{})
			key := testKey(b)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := r.Allow(ctx, key, 1e6, 1000); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			r := newRates(b, be.conn, queue.RateOptions{})
			ctx := context.Background()
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				key := fmt.Sprintf("%s:%d", testKey(b), n.Add(1))
				for pb.Next() {
					if _, _, err := r.Allow(ctx, key, 1e6, 1000); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

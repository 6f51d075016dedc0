package server

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter keeps one token bucket per key (client address or user id).
// Buckets idle for ten minutes are dropped when the map grows, so a flood
// of addresses cannot grow it without bound.
type limiter struct {
	cfg RateLimit
	now func() time.Time

	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

const limiterPrune = 10000

func newLimiter(cfg RateLimit, now func() time.Time) *limiter {
	return &limiter{cfg: cfg, now: now, m: map[string]*bucket{}}
}

// allow takes one token from key's bucket.
func (l *limiter) allow(key string) bool {
	if l.cfg.PerSecond <= 0 {
		return true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[key]
	if !ok {
		if len(l.m) >= limiterPrune {
			for k, v := range l.m {
				if now.Sub(v.seen) > 10*time.Minute {
					delete(l.m, k)
				}
			}
		}
		burst := l.cfg.Burst
		if burst < 1 {
			burst = 1
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.cfg.PerSecond), burst)}
		l.m[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

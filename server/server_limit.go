package server

import (
	"context"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"formwork/engine"
)

// RateStore keeps the rate limits' counts. The server asks it once per
// limited request; with several nodes, a store they share (Redis) makes a
// limit hold for the installation, not per node. Nil in Deps: each node
// counts in its own memory.
type RateStore interface {
	// Allow takes one request for key from a token bucket refilled at
	// perSecond requests a second that holds at most burst (a full bucket
	// lets burst requests through at once). It reports whether the request
	// may go ahead and, when not, how long until one would. An error means
	// the store could not decide; the server then limits in memory.
	// Keys look like "ip:192.0.2.1" and "user:ID"; perSecond is positive.
	Allow(ctx context.Context, key string, perSecond float64, burst int) (ok bool, retryAfter time.Duration, err error)
}

// limit is one of the server's rate limits: its settings and the
// namespace of its keys in the store.
type limit struct {
	kind string // "ip", "user", "login", "public"
	cfg  RateLimit
}

// rates decides every rate limit: in the shared store when there is one,
// else — and while the shared store fails — in memory. A limiter outage
// must not take the product down, so an error from the shared store lets
// the request through under this node's own limits, logs one warning, and
// leaves the shared store alone for rateStoreBackoff before asking again.
type rates struct {
	shared RateStore // nil: memory only
	local  *memoryRates
	now    func() time.Time
	log    *slog.Logger

	mu        sync.Mutex
	downUntil time.Time // the shared store failed: memory until then
}

// rateStoreBackoff is how long the server limits in memory after the
// shared store failed before it asks the shared store again.
const rateStoreBackoff = 5 * time.Second

func newRates(shared RateStore, now func() time.Time, log *slog.Logger) *rates {
	return &rates{shared: shared, local: newMemoryRates(now), now: now, log: log}
}

// allow takes one request for key under l; see RateStore.Allow.
func (r *rates) allow(ctx context.Context, l limit, key string) (bool, time.Duration) {
	if l.cfg.PerSecond <= 0 {
		return true, 0
	}
	key = l.kind + ":" + key
	if r.shared != nil && r.sharedUp() {
		ok, retry, err := r.shared.Allow(ctx, key, l.cfg.PerSecond, l.cfg.Burst)
		if err == nil {
			return ok, retry
		}
		if ctx.Err() != nil {
			return true, 0 // the client went away; the store is not to blame
		}
		r.sharedFailed(err)
	}
	ok, retry, _ := r.local.Allow(ctx, key, l.cfg.PerSecond, l.cfg.Burst)
	return ok, retry
}

func (r *rates) sharedUp() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.now().Before(r.downUntil)
}

func (r *rates) sharedFailed(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if now.Before(r.downUntil) {
		return // another request saw it first and warned
	}
	r.downUntil = now.Add(rateStoreBackoff)
	r.log.Warn("rate limits: the shared store failed; limiting per node in memory", "retry_in", rateStoreBackoff, "err", err)
}

// memoryRates is the RateStore of one node: a token bucket per key
// (golang.org/x/time/rate). Buckets idle for ten minutes are dropped when
// the map grows, so a flood of addresses cannot grow it without bound.
type memoryRates struct {
	now func() time.Time

	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

const limiterPrune = 10000

func newMemoryRates(now func() time.Time) *memoryRates {
	return &memoryRates{now: now, m: map[string]*bucket{}}
}

// Allow implements RateStore; it never fails.
func (l *memoryRates) Allow(_ context.Context, key string, perSecond float64, burst int) (bool, time.Duration, error) {
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
		b = &bucket{lim: rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))}
		l.m[key] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, 0, nil
	}
	missing := 1 - b.lim.TokensAt(now)
	return false, time.Duration(missing / perSecond * float64(time.Second)), nil
}

// allow takes one request for key under l and, when refused, sets
// Retry-After (whole seconds, at least 1) on the response.
func (s *server) allow(c echo.Context, l limit, key string) bool {
	ok, retry := s.rates.allow(c.Request().Context(), l, key)
	if !ok {
		c.Response().Header().Set("Retry-After", strconv.FormatInt(int64(math.Max(1, math.Ceil(retry.Seconds()))), 10))
	}
	return ok
}

// rateLimitIP limits every request per client address, static files and
// probes aside.
func (s *server) rateLimitIP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := c.Request().URL.Path; strings.HasPrefix(p, "/static/") || isProbe(p) {
			return next(c)
		}
		if !s.allow(c, s.ipLimit, c.RealIP()) {
			return errRateLimited()
		}
		return next(c)
	}
}

// rateLimitUser limits every authenticated request per user.
func (s *server) rateLimitUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if a := authOf(c); a != nil && !s.allow(c, s.userLimit, a.user.ID) {
			return errRateLimited()
		}
		return next(c)
	}
}

// isProbe reports whether path is a health or readiness probe, which a
// load balancer sends often from one address: never rate limited, or a
// healthy node would be dropped.
func isProbe(path string) bool { return path == "/healthz" || path == "/readyz" }

func errRateLimited() error {
	return engine.Errorf(engine.ERATELIMIT, engine.T("请求过于频繁，请稍后再试", "too many requests; slow down"))
}

package queue

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// RateKeyPrefix starts every key the rate limiter writes, so its keys are
// told apart from the queue's (asynq:…) and can be listed or wiped alone.
const RateKeyPrefix = "formwork:rl:"

// DefaultRateTimeout bounds one Allow round trip, dial included: a slow or
// unreachable Redis answers with an error this soon, and the caller falls
// back to its own limits instead of holding the request.
const DefaultRateTimeout = 500 * time.Millisecond

//go:embed ratelimit.lua
var gcraSource string

// gcra is the limiter's one script; go-redis sends it by EVALSHA and loads
// it only when Redis answers NOSCRIPT (after a restart), so a decision
// costs one round trip.
var gcra = redis.NewScript(gcraSource)

// RateOptions tune a RedisRates; zero values pick the defaults.
type RateOptions struct {
	// Timeout bounds one decision (DefaultRateTimeout). On a single Redis
	// (host:port or a redis:// URI) it replaces the connection's own dial,
	// read and write timeouts when they are longer, and a failed dial or
	// command is not retried; sentinel and cluster connections keep
	// their own timeouts and retries.
	Timeout time.Duration
	// Clock is the time decisions are made at; nil: Redis's own clock
	// (TIME inside the script), which every node shares whatever their
	// clocks say. Tests inject one.
	Clock func() time.Time
}

// RedisRates is a rate limiter whose state lives in Redis, so every node
// of an installation counts against the same limits. Each key is a GCRA
// (generic cell rate algorithm) cell — the token bucket of
// golang.org/x/time/rate expressed as one timestamp, the theoretical
// arrival time — updated by one Lua script in one round trip. A key
// expires when its bucket would be full again, so idle keys leave Redis.
type RedisRates struct {
	c       redis.UniversalClient
	timeout time.Duration
	clock   func() time.Time
}

// NewRedisRates connects a limiter to the Redis of opt (the queue's
// connection options: FORMWORK_REDIS_ADDR).
func NewRedisRates(opt asynq.RedisConnOpt, to RateOptions) (*RedisRates, error) {
	if to.Timeout <= 0 {
		to.Timeout = DefaultRateTimeout
	}
	var c redis.UniversalClient
	if o, ok := opt.(asynq.RedisClientOpt); ok {
		// a decision is not worth waiting for: one dial, no retries
		c = redis.NewClient(&redis.Options{Network: o.Network, Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB,
			TLSConfig: o.TLSConfig, PoolSize: o.PoolSize, DialTimeout: shorter(o.DialTimeout, to.Timeout), ReadTimeout: shorter(o.ReadTimeout, to.Timeout),
			WriteTimeout: shorter(o.WriteTimeout, to.Timeout), DialerRetries: 1, MaxRetries: -1, ContextTimeoutEnabled: true})
	} else if u, ok := opt.MakeRedisClient().(redis.UniversalClient); ok {
		c = u
	} else {
		return nil, fmt.Errorf("rate limiter: unsupported redis connection %T", opt)
	}
	return &RedisRates{c: c, timeout: to.Timeout, clock: to.Clock}, nil
}

func shorter(d, limit time.Duration) time.Duration {
	if d <= 0 || d > limit {
		return limit
	}
	return d
}

// Allow takes one request for key from a bucket refilled at perSecond
// requests a second that holds at most burst (at least 1). It reports
// whether the request may go ahead and, when not, how long until one
// would. perSecond <= 0 allows everything without asking Redis. An error
// means Redis did not answer in time; the caller decides what then.
func (r *RedisRates) Allow(ctx context.Context, key string, perSecond float64, burst int) (bool, time.Duration, error) {
	if perSecond <= 0 {
		return true, 0, nil
	}
	if burst < 1 {
		burst = 1
	}
	// the emission interval in microseconds: 1/perSecond seconds, at
	// least 1µs, at most about 31 years (a rate so slow it is a ban)
	interval := math.Ceil(1e6 / perSecond)
	interval = math.Min(math.Max(interval, 1), 1e15)
	now := ""
	if r.clock != nil {
		now = fmt.Sprint(r.clock().UnixMicro())
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := gcra.Run(ctx, r.c, []string{RateKeyPrefix + key}, int64(interval), burst, now).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("rate limit %s: %w", key, err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("rate limit %s: script answered %v", key, res)
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, time.Duration(res[1]) * time.Microsecond, nil
}

// Close closes the connections.
func (r *RedisRates) Close() error { return r.c.Close() }

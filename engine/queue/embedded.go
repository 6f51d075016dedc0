package queue

import (
	"fmt"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
)

// EmbeddedOptions tune an Embedded server; zero values pick the defaults.
type EmbeddedOptions struct {
	Addr  string           // listen address; default 127.0.0.1:0 (a free loopback port)
	Tick  time.Duration    // how often key TTLs are advanced; default 1s
	Clock func() time.Time // default time.Now
}

// Embedded is an in-process Redis-compatible server (miniredis) for the
// single-process setup. miniredis does not expire keys by itself, so a
// ticker advances its TTLs by the time the clock moved since the last tick.
// It keeps everything in memory: the outbox relay re-enqueues whatever a
// restart loses.
type Embedded struct {
	mr    *miniredis.Miniredis
	clock func() time.Time
	last  time.Time
	mu    sync.Mutex
	once  sync.Once
	stop  chan struct{}
	done  chan struct{}
}

// StartEmbedded starts the server and its TTL ticker.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr(o.Addr); err != nil {
		return nil, fmt.Errorf("start embedded redis on %s: %w", o.Addr, err)
	}
	e := &Embedded{mr: mr, clock: o.Clock, last: o.Clock(), stop: make(chan struct{}), done: make(chan struct{})}
	go e.loop(o.Tick)
	return e, nil
}

func (e *Embedded) loop(every time.Duration) {
	defer close(e.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.Advance()
		}
	}
}

// Advance moves the server's TTLs forward by the time the clock moved since
// the previous call; the ticker calls it, tests may too.
func (e *Embedded) Advance() {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock()
	if d := now.Sub(e.last); d > 0 {
		e.mr.FastForward(d)
	}
	e.last = now
}

// Addr returns the host:port the server listens on.
func (e *Embedded) Addr() string { return e.mr.Addr() }

// ConnOpt returns asynq connection options for the server.
func (e *Embedded) ConnOpt() asynq.RedisConnOpt { return asynq.RedisClientOpt{Addr: e.mr.Addr()} }

// FlushAll wipes every key, as a Redis crash without persistence would.
func (e *Embedded) FlushAll() { e.mr.FlushAll() }

// Close stops the ticker and the server; further calls do nothing.
func (e *Embedded) Close() {
	e.once.Do(func() {
		close(e.stop)
		<-e.done
		e.mr.Close()
	})
}

package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// gcHeadroom keeps the garbage collector from starting a cycle before the
// heap has grown by headroom bytes past what the last cycle left live, as
// long as that is more than Go's default (GOGC=100: the heap may double).
// A server's live heap is small (about 8 MiB serving the peer benchmark),
// and at the default the collector ran every few hundred requests. With
// 16 MiB of headroom it runs about half as often (peer run at 1 client:
// server CPU per list about 880-1000 -> 765-775 us, the collector's
// marking from 3-7% of the CPU to 1-2%), and the peak resident memory of
// the whole peer run stays at about 93 MiB (at 32 MiB it was 110). A large
// live heap keeps the default, so the heap never grows more than headroom
// past what GOGC=100 allows.
//
// It re-tunes after each cycle (a finalizer runs once the cycle that
// found its object unreachable has ended) and is off when GOGC is set in
// the environment, which then rules as Go documents, or headroom is 0.
type gcHeadroom struct {
	headroom uint64
	percent  int // the GOGC last set
	stopped  atomic.Bool
	sample   []metrics.Sample
}

// gcSentinel is the object whose finalizer marks the end of a cycle; a
// pointer keeps it out of the tiny allocator, whose objects may never be
// finalized.
type gcSentinel struct{ _ *int }

// tuneGC starts tuning the collector with headroom bytes (see gcHeadroom);
// stop ends it and leaves the last setting in place.
func tuneGC(headroom int64) (stop func()) {
	if headroom <= 0 || os.Getenv("GOGC") != "" {
		return func() {}
	}
	t := &gcHeadroom{headroom: uint64(headroom), percent: 100, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.adjust()
	t.arm()
	return func() { t.stopped.Store(true) }
}

func (t *gcHeadroom) arm() {
	runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) {
		if t.stopped.Load() {
			return
		}
		t.adjust()
		t.arm()
	})
}

// adjust sets GOGC so that the next cycle starts at the live heap plus the
// larger of headroom and the live heap itself.
func (t *gcHeadroom) adjust() {
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	p := gcPercent(t.sample[0].Value.Uint64(), t.headroom)
	if p != t.percent {
		t.percent = p
		debug.SetGCPercent(p)
	}
}

// gcPercent is the GOGC that lets a heap of live bytes grow by headroom
// bytes, and by no less than GOGC=100 does; rounded to 25 so that small
// changes of the live heap do not re-tune the collector each cycle.
func gcPercent(live, headroom uint64) int {
	const minLive = 4 << 20 // Go's own floor of the heap goal
	live = max(live, minLive)
	p := int(headroom * 100 / live)
	p = (p + 24) / 25 * 25
	return max(p, 100)
}

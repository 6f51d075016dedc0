package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// settingsCounter counts the anomaly watch's reads of its settings'
// version; the rest of Store is not used.
type settingsCounter struct {
	Store
	reads atomic.Int32
}

func (s *settingsCounter) DocVersions(context.Context, []DocRef) ([]int64, error) {
	s.reads.Add(1)
	return []int64{0}, nil
}

// TestAnomalyWatchGathersWithoutWaking: a batch that finds the watch idle
// wakes it; batches committed while it gathers neither wake its goroutine
// nor wait for a read of their own, and all are evaluated after one read;
// close evaluates what is queued and ends the loop.
func TestAnomalyWatchGathersWithoutWaking(t *testing.T) {
	st := &settingsCounter{}
	w := &anomalyWatch{s: &Service{store: st}, kick: make(chan struct{}, 1), done: make(chan struct{}),
		set: &AnomalySettings{}} // no rules, read at version 0
	go w.loop()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	idle := func() bool { w.mu.Lock(); defer w.mu.Unlock(); return w.idle && len(w.pending) == 0 }
	ev := func() []*AuditEvent { return []*AuditEvent{{Action: "view"}} }

	waitFor("the loop to wait", idle)
	w.observe(ev()) // idle, and no read yet: evaluated at once
	waitFor("the first batch's read", func() bool { return st.reads.Load() == 1 && idle() })

	w.observe(ev()) // wakes the loop, which now gathers until watchGather after the last read
	waitFor("the loop to take the kick", func() bool { return len(w.kick) == 0 })
	for range 20 {
		w.observe(ev())
		w.mu.Lock()
		woke := w.idle || len(w.kick) != 0
		w.mu.Unlock()
		if woke {
			t.Fatal("a batch committed while the watch gathers woke it")
		}
	}
	waitFor("the gathered batches' read", func() bool { return st.reads.Load() == 2 && idle() })

	w.observe(ev())
	w.close() // evaluates the queued batch without waiting out the gathering
	if got := st.reads.Load(); got != 3 {
		t.Fatalf("settings read %d times, want 3", got)
	}
	w.observe(ev()) // after close: dropped, and nothing runs
	if n := len(w.pending); n != 0 {
		t.Fatalf("%d batches queued after close", n)
	}
}

// TestAnomalyWatchDropsOldest: a full queue drops its oldest batches, not
// the one committed last, which the counting rules need to see a burst's
// end (a mass viewing's 300th view); it is bounded in events, so a few
// large batches (group commits under load) do not hold much more.
func TestAnomalyWatchDropsOldest(t *testing.T) {
	w := &anomalyWatch{kick: make(chan struct{}, 1)} // no loop: nothing takes the queue
	evs := make([][]*AuditEvent, watchQueue+5)
	for i := range evs {
		evs[i] = []*AuditEvent{{Action: "view", Object: fmt.Sprint(i)}}
		w.observe(evs[i])
	}
	if len(w.pending) != watchQueue || w.queued != watchQueue || w.pending[0][0] != evs[5][0] || w.pending[watchQueue-1][0] != evs[len(evs)-1][0] {
		t.Fatalf("queue holds %d batches (%d events) from %s to %s; want %d from 5 to %d", len(w.pending), w.queued,
			w.pending[0][0].Object, w.pending[len(w.pending)-1][0].Object, watchQueue, len(evs)-1)
	}
	big := make([]*AuditEvent, watchQueue/2+1)
	for i := range big {
		big[i] = &AuditEvent{Action: "view", Object: "big"}
	}
	w.observe(big)
	w.observe(big)
	if len(w.pending) != 1 || w.queued != len(big) {
		t.Fatalf("after two batches of %d events the queue holds %d batches, %d events; want the last batch alone", len(big), len(w.pending), w.queued)
	}
}

package queue_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/queue"
)

// TestDepthsCountTasksByState: the default queue is reported before its
// first task; a job due now waits as pending, one due later as scheduled.
func TestDepthsCountTasksByState(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		c := newClient(t, b)
		ctx := context.Background()
		got, err := c.Depths(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]queue.QueueDepth{{Queue: queue.QueueName}}, got); diff != "" {
			t.Errorf("before any task (-want +got):\n%s", diff)
		}
		now := time.Now()
		for _, at := range []time.Time{now, now.Add(time.Hour)} {
			job, err := queue.NewJob(testJobType, nil, at, now)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Enqueue(ctx, job); err != nil {
				t.Fatal(err)
			}
		}
		got, err = c.Depths(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Queue != queue.QueueName || got[0].Pending != 1 || got[0].Scheduled != 1 || got[0].Active+got[0].Retry+got[0].Archived != 0 {
			t.Errorf("depths = %+v, want one pending and one scheduled in %s", got, queue.QueueName)
		}
	})
}

// TestRelayAndWorkerReportTheirWork: a relay pass reports what it
// enqueued and the oldest due job; the worker reports each run of a job
// with its type and outcome (a failed first run, then a good one).
func TestRelayAndWorkerReportTheirWork(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := newStore(t)
		c := newClient(t, b)
		job := addJob(t, s, testJobType, time.Now().Add(-time.Minute))
		var passes []queue.RelayPass
		r := queue.NewRelay(s, c, queue.RelayOptions{Logger: quietLogger(), Observe: func(p queue.RelayPass) { passes = append(passes, p) }})
		if _, err := r.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]queue.RelayPass{{Relayed: 1, Pending: 1, OldestDue: job.RunAt.Truncate(time.Millisecond)}}, passes); diff != "" {
			t.Errorf("relay passes (-want +got):\n%s", diff)
		}

		var mu sync.Mutex
		var runs []engine.Outcome
		w := queue.NewWorker(b.conn, s, queue.WorkerOptions{Logger: quietLogger(), ShutdownTimeout: time.Second,
			RetryDelay: func(int) time.Duration { return 100 * time.Millisecond },
			Observe: func(typ string, o engine.Outcome, took time.Duration) {
				mu.Lock()
				defer mu.Unlock()
				if typ != testJobType || took <= 0 {
					t.Errorf("job run reported as %q in %v", typ, took)
				}
				runs = append(runs, o)
			}})
		w.Handle(testJobType, newRecorder(1).handle)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Shutdown)
		eventually(t, 10*time.Second, "the job's second run reported", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(runs) >= 2
		})
		mu.Lock()
		defer mu.Unlock()
		if diff := cmp.Diff([]engine.Outcome{engine.OutcomeError, engine.OutcomeOK}, runs); diff != "" {
			t.Errorf("job runs (-want +got):\n%s", diff)
		}
	})
}

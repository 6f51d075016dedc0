package queue

import (
	"context"
	"fmt"
	"time"

	"formwork/engine"
)

// JobObserver is told each job run's type, outcome and time (the handler
// and marking the job done), from the worker's goroutines (metrics).
type JobObserver func(jobType string, outcome engine.Outcome, took time.Duration)

// RelayPass is what one relay pass saw, for metrics.
type RelayPass struct {
	Relayed   int       // jobs enqueued by this pass
	Pending   int       // due jobs not yet done that the pass read (at most its scan limit)
	OldestDue time.Time // when the oldest of them fell due; zero when there is none
}

// QueueDepth is how many tasks one asynq queue holds, by state, and how
// long its oldest pending task has waited.
type QueueDepth struct {
	Queue                                       string
	Pending, Active, Scheduled, Retry, Archived int
	Latency                                     time.Duration
}

// Depths reads the depth of every queue from Redis: a few round trips and
// a Lua script per queue, so callers cache it (the metrics collector
// does). The default queue is reported, empty, before its first task.
func (c *Client) Depths(ctx context.Context) ([]QueueDepth, error) {
	type answer struct {
		d   []QueueDepth
		err error
	}
	done := make(chan answer, 1)
	go func() {
		d, err := c.depths()
		done <- answer{d, err}
	}()
	select {
	case a := <-done:
		return a.d, a.err
	case <-ctx.Done():
		return nil, fmt.Errorf("queue depth: %w", ctx.Err())
	}
}

func (c *Client) depths() ([]QueueDepth, error) {
	names, err := c.insp.Queues()
	if err != nil {
		return nil, fmt.Errorf("queue depth: list queues: %w", err)
	}
	out := make([]QueueDepth, 0, len(names)+1)
	seen := false
	for _, name := range names {
		seen = seen || name == QueueName
		info, err := c.insp.GetQueueInfo(name)
		if err != nil {
			return nil, fmt.Errorf("queue depth %s: %w", name, err)
		}
		out = append(out, QueueDepth{Queue: name, Pending: info.Pending, Active: info.Active, Scheduled: info.Scheduled,
			Retry: info.Retry, Archived: info.Archived, Latency: info.Latency})
	}
	if !seen {
		out = append(out, QueueDepth{Queue: QueueName})
	}
	return out, nil
}

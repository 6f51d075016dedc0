// Package queue runs Formwork's background jobs on asynq: the client that
// implements engine.Queue, the worker that runs job handlers and marks their
// outbox jobs done, the outbox relay that moves due jobs from the store to
// the queue, and the embedded Redis-compatible server used by the default
// single-process setup.
//
// Delivery is at least once. The store's outbox, not Redis, is the record of
// what must run: a job stays pending until its handler succeeded and the
// worker marked it done, and the relay re-enqueues a pending job it has not
// seen finish within a grace period (for instance after Redis lost it). So
// a handler can see the same job twice and must be idempotent.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"formwork/engine"
)

// QueueName is the asynq queue every outbox job goes to.
const QueueName = "default"

// DefaultMaxRetry is how often asynq retries a failing job before it
// archives it; the relay revives an archived job that is still pending in
// the outbox after its grace period, so a job is never given up for good.
const DefaultMaxRetry = 25

// ParseRedisAddr turns FORMWORK_REDIS_ADDR into connection options: a plain
// "host:port", or a redis:// (rediss://, redis-socket://) URI.
func ParseRedisAddr(addr string) (asynq.RedisConnOpt, error) {
	if strings.Contains(addr, "://") {
		opt, err := asynq.ParseRedisURI(addr)
		if err != nil {
			return nil, fmt.Errorf("parse redis address: %w", err)
		}
		return opt, nil
	}
	if addr == "" {
		return nil, errors.New("parse redis address: empty")
	}
	return asynq.RedisClientOpt{Addr: addr, DialTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second}, nil
}

// NewJob builds an outbox job of type typ (a noun:verb constant) with a JSON
// payload, due at runAt (now when zero). Write it in the same Change as the
// state it follows from.
func NewJob(typ string, payload any, runAt, now time.Time) (engine.OutboxJob, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return engine.OutboxJob{}, fmt.Errorf("new job %s: %w", typ, err)
	}
	if runAt.IsZero() {
		runAt = now
	}
	return engine.OutboxJob{ID: engine.NewID(now), Type: typ, Payload: b, RunAt: runAt.UTC(), CreatedAt: now.UTC()}, nil
}

// Client enqueues outbox jobs on asynq; it implements engine.Queue.
type Client struct {
	c        *asynq.Client
	insp     *asynq.Inspector
	maxRetry int
}

var _ engine.Queue = (*Client)(nil)

// NewClient connects a client to Redis (or the embedded server).
func NewClient(opt asynq.RedisConnOpt) *Client {
	return &Client{c: asynq.NewClient(opt), insp: asynq.NewInspector(opt), maxRetry: DefaultMaxRetry}
}

// Enqueue implements engine.Queue: the task id is job.ID, so enqueueing a
// job the queue already holds is a no-op; the task runs at job.RunAt. A job
// that asynq archived after exhausting its retries is revived.
func (c *Client) Enqueue(ctx context.Context, job engine.OutboxJob) error {
	if job.ID == "" || job.Type == "" {
		return engine.Errorf(engine.EINVALID, engine.T("任务缺少编号或类型", "The job has no id or type"))
	}
	payload, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", job.ID, err)
	}
	task := asynq.NewTask(job.Type, payload)
	opts := []asynq.Option{asynq.TaskID(job.ID), asynq.Queue(QueueName), asynq.MaxRetry(c.maxRetry)}
	if !job.RunAt.IsZero() {
		opts = append(opts, asynq.ProcessAt(job.RunAt))
	}
	_, err = c.c.EnqueueContext(ctx, task, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		info, ierr := c.insp.GetTaskInfo(QueueName, job.ID)
		if ierr != nil || info.State != asynq.TaskStateArchived {
			return nil // queued, scheduled, retrying or running: already on its way
		}
		if derr := c.insp.DeleteTask(QueueName, job.ID); derr != nil {
			return fmt.Errorf("enqueue %s: revive archived task: %w", job.ID, derr)
		}
		_, err = c.c.EnqueueContext(ctx, task, opts...)
		if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
			return nil
		}
	}
	if err != nil {
		return &engine.Error{Code: engine.EUNAVAILABLE, Message: engine.T("任务队列不可用", "The job queue is unavailable"), Err: fmt.Errorf("enqueue %s: %w", job.ID, err)}
	}
	return nil
}

// Ping implements engine.Queue. EUNAVAILABLE when Redis does not answer.
func (c *Client) Ping(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- c.c.Ping() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		return &engine.Error{Code: engine.EUNAVAILABLE, Message: engine.T("任务队列不可用", "The job queue is unavailable"), Err: fmt.Errorf("ping queue: %w", err)}
	}
	return nil
}

// Close releases the client's connections.
func (c *Client) Close() error {
	return errors.Join(c.c.Close(), c.insp.Close())
}

// slogAdapter makes a *slog.Logger an asynq.Logger.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a slogAdapter) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }

package engine

import "context"

// Queue moves outbox jobs to the background workers. engine/queue implements
// it over asynq; the outbox relay is its only caller in production.
//
// Delivery is at least once: a job may reach its handler more than once (a
// relay re-enqueues a job whose completion it has not yet seen, a worker may
// crash after the handler ran but before the job was marked done), so every
// JobHandler must be idempotent.
type Queue interface {
	// Enqueue schedules job for processing at job.RunAt (at once when it is
	// in the past), with job.ID as the unique task id: enqueueing a job that
	// the queue already holds is a no-op and returns nil.
	Enqueue(ctx context.Context, job OutboxJob) error
	// Ping reports whether the queue is reachable (EUNAVAILABLE when not).
	Ping(ctx context.Context) error
}

// JobHandler processes one outbox job of a type. It must be idempotent: the
// same job can be delivered again after it succeeded. Returning an error has
// the job retried later; it stays pending in the outbox until a run succeeds.
type JobHandler func(ctx context.Context, job OutboxJob) error

package queue

import (
	"context"

	"formwork/engine"
)

// JobServer serves several job types through one handler, as the workflow
// runtime (engine/workflow) does for its reminders, timeouts, plugin calls
// and notification deliveries.
type JobServer interface {
	JobTypes() []string
	HandleJob(ctx context.Context, job engine.OutboxJob) error
}

// Register has the worker run every job type s serves. Each handler is
// idempotent and marks its job done in the same atomic write as the
// transition it makes.
func Register(w *Worker, s JobServer) {
	for _, t := range s.JobTypes() {
		w.Handle(t, s.HandleJob)
	}
}

package queue

import "formwork/engine"

// RegisterWorkflows has the worker run the workflow runtime's jobs:
// reminders, timeouts, plugin calls and notification deliveries (see
// engine.WorkflowJobTypes). Each handler is idempotent and marks its job
// done in the same atomic write as the transition it makes.
func RegisterWorkflows(w *Worker, wf *engine.Workflows) {
	for _, t := range engine.WorkflowJobTypes {
		w.Handle(t, wf.HandleJob)
	}
}

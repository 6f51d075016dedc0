package designer

import (
	"context"

	"formwork/engine"
	"formwork/engine/workflow"
)

// Preview shows a form of the app's draft (or, with no draft, of the
// published version) as subject would see it: a role in a unit, or a real
// user. It needs the draft to load: a draft with problems answers
// EINVALID with them. Nothing is written.
func (d *Designer) Preview(ctx context.Context, p *engine.Principal, app, form string, subject engine.PreviewSubject, data map[string]any) (*engine.FormPreview, error) {
	b, err := d.draftBundle(ctx, p, app)
	if err != nil {
		return nil, err
	}
	return d.svc.PreviewForm(ctx, b, form, subject, data)
}

// draftBundle loads app's draft (or, with no draft, its published
// version) for the questions a designer asks of it; a draft with problems
// answers EINVALID with them.
func (d *Designer) draftBundle(ctx context.Context, p *engine.Principal, app string) (*engine.Bundle, error) {
	dr, err := d.Draft(ctx, p, app)
	if err != nil {
		return nil, err
	}
	return engine.LoadBundle(dr.Bundle)
}

// Simulate shows the path a record with data would take through workflow
// key of the app's draft (see workflow.Simulate), submitted by subject: a
// role in a unit, or a real user. Nothing is written and no one is told.
func (d *Designer) Simulate(ctx context.Context, p *engine.Principal, app, key string, subject engine.PreviewSubject, data map[string]any) (*workflow.Simulation, error) {
	b, err := d.draftBundle(ctx, p, app)
	if err != nil {
		return nil, err
	}
	u, _, err := d.svc.PreviewUser(ctx, b, subject)
	if err != nil {
		return nil, err
	}
	return workflow.Simulate(ctx, d.svc, b, key, u, data)
}

package designer

import (
	"context"

	"formwork/engine"
)

// Preview shows a form of the app's draft (or, with no draft, of the
// published version) as subject would see it: a role in a unit, or a real
// user. It needs the draft to load: a draft with problems answers
// EINVALID with them. Nothing is written.
func (d *Designer) Preview(ctx context.Context, p *engine.Principal, app, form string, subject engine.PreviewSubject, data map[string]any) (*engine.FormPreview, error) {
	dr, err := d.Draft(ctx, p, app)
	if err != nil {
		return nil, err
	}
	b, err := engine.LoadBundle(dr.Bundle)
	if err != nil {
		return nil, err
	}
	return d.svc.PreviewForm(ctx, b, form, subject, data)
}

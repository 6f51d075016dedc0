package designer

import (
	"context"

	"formwork/engine"
)

// PreviewSet is a form of a draft as one person would see it: the form
// filled with the values given, and the draft's sample records of that
// form, each masked and cut as it would be shown to them.
type PreviewSet struct {
	// Bundle is the draft loaded, for drawing the fields the previews name.
	Bundle  *engine.Bundle
	Form    *engine.FormPreview
	Samples []*engine.FormPreview
}

// PreviewWithSamples is Preview of data together with the first max
// sample records of form (the draft's sample data, opened from its seal),
// the draft loaded once. As Preview, it needs the draft to load and
// writes nothing.
func (d *Designer) PreviewWithSamples(ctx context.Context, p *engine.Principal, app, form string, subject engine.PreviewSubject, data map[string]any, max int) (*PreviewSet, error) {
	b, err := d.draftBundle(ctx, p, app)
	if err != nil {
		return nil, err
	}
	pv, err := d.svc.PreviewForm(ctx, b, form, subject, data)
	if err != nil {
		return nil, err
	}
	set := &PreviewSet{Bundle: b, Form: pv}
	for i, rec := range b.SampleData[form] {
		if i == max {
			break
		}
		sp, err := d.svc.PreviewForm(ctx, b, form, subject, engine.CloneData(rec))
		if err != nil {
			return nil, err
		}
		set.Samples = append(set.Samples, sp)
	}
	return set, nil
}

package designer

import (
	"context"
	"encoding/json"

	"formwork/engine"
)

// ruleBundle loads app's draft for checking a rule of one of its forms.
// A rule compiles against its form alone, so a draft that does not load
// only because of its workflows (a condition branch not set yet, while
// the manager sets it with this very check) is loaded without them; any
// other problem answers EINVALID as draftBundle does.
func (d *Designer) ruleBundle(ctx context.Context, p *engine.Principal, app string) (*engine.Bundle, error) {
	dr, err := d.Draft(ctx, p, app)
	if err != nil {
		return nil, err
	}
	b, err := engine.LoadBundle(dr.Bundle)
	if err == nil || engine.ErrorCode(err) != engine.EINVALID {
		return b, err
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(dr.Bundle, &top) != nil || top["workflows"] == nil {
		return nil, err
	}
	delete(top, "workflows")
	if b, e := engine.LoadBundle(engine.MustJSON(top)); e == nil {
		return b, nil
	}
	return nil, err
}

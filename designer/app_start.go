package designer

import (
	"context"
	"encoding/json"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"formwork/engine"
)

// StartFrom starts a new app's draft under key app and name from bundle,
// the bundle of another app (a built-in template's, say): only app.key
// and app.name change, everything else (field order included) stays as
// it is. ECONFLICT when app exists already, published or as a draft;
// EINVALID for a bad key or a bundle without an app; otherwise as Save.
// Audited as draft.start.
func (d *Designer) StartFrom(ctx context.Context, p *engine.Principal, app string, name engine.Text, bundle []byte) (*Draft, error) {
	if err := d.svc.AuthorizeDesign(ctx, p, app, "draft.start"); err != nil {
		return nil, err
	}
	cur, err := d.newApp(ctx, p, app)
	if err != nil {
		return nil, err
	}
	if err := checkSize(len(bundle)); err != nil {
		return nil, err
	}
	if err := checkJSON(bundle); err != nil {
		return nil, err
	}
	data, err := renamed(bundle, app, name)
	if err != nil {
		return nil, err
	}
	return d.write(ctx, p, app, cur, data, "draft.start")
}

// StartCopy starts a new app's draft under key app as a copy of the
// published version of app src, which p must be allowed to design; name
// is the copy's name, "… 副本" / "… (copy)" when zero. ENOTFOUND when src
// was never published; otherwise as StartFrom.
func (d *Designer) StartCopy(ctx context.Context, p *engine.Principal, src, app string, name engine.Text) (*Draft, error) {
	data, _, err := d.svc.AppVersionBundle(ctx, p, src, 0)
	if err != nil {
		return nil, err
	}
	if name.IsZero() {
		var b struct {
			App struct {
				Name engine.Text `json:"name"`
			} `json:"app"`
		}
		_ = json.Unmarshal(data, &b)
		if b.App.Name.IsZero() {
			b.App.Name = engine.T(src, src)
		}
		name = engine.T(b.App.Name.In("zh")+" 副本", b.App.Name.In("en")+" (copy)")
	}
	return d.StartFrom(ctx, p, app, name, data)
}

// newApp is the empty start of a new app's first draft: EINVALID for a
// key the engine would not take, ECONFLICT when app already has a draft
// or a published version (a first save would otherwise replace it).
func (d *Designer) newApp(ctx context.Context, p *engine.Principal, app string) (*current, error) {
	if !engine.KeyPattern.MatchString(app) {
		return nil, engine.Invalid(engine.FieldError{Field: "/app/key", Code: "pattern",
			Message: engine.T("应用标识只能包含小写字母、数字和下划线，并以字母开头", "an app key has lowercase letters, digits and _, starting with a letter")})
	}
	cur, err := d.current(ctx, p, app)
	switch {
	case err == nil:
		return nil, &engine.Error{Code: engine.ECONFLICT, Message: engine.Tf("已有标识为 %s 的应用", "there is already an app with the key %s", app),
			Fields: []engine.FieldError{{Field: "/app/key", Code: "taken", Message: engine.T("这个标识已被占用", "this key is taken")}}}
	case engine.ErrorCode(err) != engine.ENOTFOUND:
		return nil, err
	}
	return cur, nil
}

// renamed is bundle with app.key set to app and app.name to name (when
// not zero). A JSON Patch changes those two members in place, so the
// order of everything else, which the designer shows, is kept.
func renamed(bundle []byte, app string, name engine.Text) ([]byte, error) {
	var top struct {
		App map[string]json.RawMessage `json:"app"`
	}
	if err := json.Unmarshal(bundle, &top); err != nil || top.App == nil {
		return nil, engine.Invalid(engine.FieldError{Field: "/app", Code: "required", Message: engine.T("应用定义缺少 app 部分", "the bundle has no app section")})
	}
	ops := []map[string]any{{"op": "add", "path": "/app/key", "value": app}}
	if !name.IsZero() {
		ops = append(ops, map[string]any{"op": "add", "path": "/app/name", "value": map[string]string{"zh": name.In("zh"), "en": name.In("en")}})
	}
	patch, err := jsonpatch.DecodePatch(engine.MustJSON(ops))
	if err != nil {
		return nil, err
	}
	return applyPatch(bundle, patch)
}

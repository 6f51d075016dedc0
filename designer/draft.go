// Package designer is the server side of the app designer: drafts of app
// bundles that may be invalid while a manager works on them, saved whole
// or by JSON Patch with optimistic concurrency, validated by the same
// engine code as an import, compared with the published version in plain
// words, published as a new immutable version, and restored from earlier
// versions. Who may design an app is the engine's answer
// (engine.Service.AuthorizeDesign); every draft change and every publish
// is audited.
package designer

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"formwork/engine"
)

// KindDraft is the doc kind of drafts: one per app, doc ID = app key.
const KindDraft = engine.KindAppDraft

// MaxDraftSize is the largest draft (and patch) the designer accepts.
const MaxDraftSize = 10 << 20

// Designer runs the designer's operations on one engine service.
type Designer struct {
	svc *engine.Service
}

// New returns a Designer working through svc.
func New(svc *engine.Service) *Designer { return &Designer{svc: svc} }

// Problem is one reason a draft cannot be published yet, at a JSON pointer
// into the draft's bundle, in both languages.
type Problem struct {
	Pointer string      `json:"pointer"`
	Code    string      `json:"code"`
	Message engine.Text `json:"message"`
}

// Draft is the bundle a designer works on.
type Draft struct {
	App     string          `json:"app"`
	Bundle  json.RawMessage `json:"bundle"`
	Version int64           `json:"version"` // 0 = no draft yet (Bundle is the published one)
	// Base is the published version the draft started from (0 for a new app).
	Base      int       `json:"base"`
	Problems  []Problem `json:"problems"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitempty"`
}

// draftDoc is a stored draft. The bundle is kept as a string so that its
// bytes survive as saved, its sample data sealed under the app's data key
// (engine.Service.SealDraft) so that a draft made from a template keeps no
// customer value in clear; its problems are kept so that reading a draft
// does not validate it again.
type draftDoc struct {
	App string `json:"app"`
	engine.SealedBundle
	Base      int       `json:"base"`
	Problems  []Problem `json:"problems"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// current is what a draft operation starts from: the stored draft, or
// when there is none the published bundle (version 0).
type current struct {
	data    []byte
	version int64 // of the draft doc; 0 when there is none
	base    int   // the published version it started from
	draft   *draftDoc
}

// Draft returns app's draft, or when it has none its published bundle with
// Version 0 (ENOTFOUND for an app that has neither). Designers only (see
// engine.Service.AuthorizeDesign).
func (d *Designer) Draft(ctx context.Context, p *engine.Principal, app string) (*Draft, error) {
	if err := d.svc.AuthorizeDesign(ctx, p, app, "draft.read"); err != nil {
		return nil, err
	}
	cur, err := d.current(ctx, p, app)
	if err != nil {
		return nil, err
	}
	if cur.draft != nil {
		return cur.draft.view(cur.version, cur.data), nil
	}
	probs := []Problem{}
	if _, _, err := d.svc.Bundle(ctx, app, cur.base); err != nil { // loaded once and cached
		if probs, err = problems(cur.data); err != nil {
			return nil, err
		}
	}
	return &Draft{App: app, Bundle: cur.data, Base: cur.base, Problems: probs}, nil
}

// encode writes the stored form of dd. HTML characters stay as they are:
// escaped, a draft of "<" would take six times its size.
func (dd *draftDoc) encode() json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(dd); err != nil {
		panic("designer: marshal draft: " + err.Error()) // strings, ints and times only
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// view is the draft as the API shows it, data being its bundle opened.
func (dd *draftDoc) view(version int64, data []byte) *Draft {
	probs := dd.Problems
	if probs == nil {
		probs = []Problem{}
	}
	return &Draft{App: dd.App, Bundle: json.RawMessage(data), Version: version, Base: dd.Base,
		Problems: probs, UpdatedBy: dd.UpdatedBy, UpdatedAt: dd.UpdatedAt}
}

// current reads the draft of app, or the published bundle when there is
// none. When there is neither it returns ENOTFOUND together with an empty
// current, which a new app's first save starts from.
func (d *Designer) current(ctx context.Context, p *engine.Principal, app string) (*current, error) {
	doc, err := d.svc.Store().FindDoc(ctx, KindDraft, app)
	switch {
	case err == nil:
		var dd draftDoc
		if err := engine.DecodeDoc(doc, &dd); err != nil {
			return nil, err
		}
		data, err := d.svc.OpenDraft(ctx, app, dd.SealedBundle)
		if err != nil {
			return nil, err
		}
		return &current{data: data, version: doc.Version, base: dd.Base, draft: &dd}, nil
	case engine.ErrorCode(err) != engine.ENOTFOUND:
		return nil, err
	}
	data, v, err := d.svc.AppVersionBundle(ctx, p, app, 0)
	if err != nil {
		if engine.ErrorCode(err) == engine.ENOTFOUND {
			return &current{}, engine.Errorf(engine.ENOTFOUND, engine.Tf("应用 %q 既没有草稿也没有发布的版本", "app %q has neither a draft nor a published version", app))
		}
		return nil, err
	}
	return &current{data: data, base: v}, nil
}

// Save replaces app's draft with a whole bundle. ifMatch is the draft
// version the caller saw (0 when there is no draft yet; a new app starts
// this way): ECONFLICT when it is stale. A draft may be invalid: it is
// stored and its problems returned. EBADREQUEST for malformed JSON,
// ETOOLARGE over MaxDraftSize, EINVALID when app.key is not app or a
// published form's key changed; the draft is then unchanged. Audited as
// draft.save.
func (d *Designer) Save(ctx context.Context, p *engine.Principal, app string, bundle []byte, ifMatch int64) (*Draft, error) {
	if err := d.svc.AuthorizeDesign(ctx, p, app, "draft.save"); err != nil {
		return nil, err
	}
	if err := checkSize(len(bundle)); err != nil {
		return nil, err
	}
	if err := checkJSON(bundle); err != nil {
		return nil, err
	}
	cur, err := d.current(ctx, p, app)
	if err != nil && engine.ErrorCode(err) != engine.ENOTFOUND {
		return nil, err
	}
	if err := checkVersion(cur, ifMatch); err != nil {
		return nil, err
	}
	return d.write(ctx, p, app, cur, bundle, "draft.save")
}

// Restore puts the bundle of published version n of app into its draft,
// over whatever draft there was. ENOTFOUND when there is no version n.
// Audited as draft.restore.
func (d *Designer) Restore(ctx context.Context, p *engine.Principal, app string, version int) (*Draft, error) {
	if err := d.svc.AuthorizeDesign(ctx, p, app, "draft.restore"); err != nil {
		return nil, err
	}
	data, _, err := d.svc.AppVersionBundle(ctx, p, app, version)
	if err != nil {
		return nil, err
	}
	cur, err := d.current(ctx, p, app)
	if err != nil {
		return nil, err
	}
	return d.write(ctx, p, app, cur, data, "draft.restore")
}

func checkVersion(cur *current, ifMatch int64) error {
	if cur.version != ifMatch {
		return &engine.Error{Code: engine.ECONFLICT, Message: engine.Tf("草稿已被修改（当前版本 %d），请刷新后再保存", "the draft has changed (it is at version %d); reload it before saving", cur.version)}
	}
	return nil
}

// write checks a new draft bundle against app and what is published,
// validates it and stores it in place of cur, with the audit event of
// action in the same write.
func (d *Designer) write(ctx context.Context, p *engine.Principal, app string, cur *current, data []byte, action string) (*Draft, error) {
	if err := d.checkKeys(ctx, app, cur, data); err != nil {
		return nil, err
	}
	probs, err := problems(data)
	if err != nil {
		return nil, err
	}
	ev := d.svc.Event(p, action, app, "", app+"@draft", nil, engine.ResultOK, "")
	sealed, err := d.svc.SealDraft(ctx, app, data)
	if err != nil {
		return nil, err
	}
	dd := draftDoc{App: app, SealedBundle: sealed, Base: cur.base, Problems: probs, UpdatedBy: p.Actor(), UpdatedAt: ev.Time}
	res, err := d.svc.Store().Apply(ctx, &engine.Change{
		Docs:  []engine.DocWrite{{Doc: engine.Doc{Kind: KindDraft, ID: app, Value: dd.encode()}, ExpectVersion: cur.version}},
		Audit: []*engine.AuditEvent{ev},
	})
	if err != nil {
		return nil, err
	}
	return dd.view(res.Docs[0].Version, data), nil
}

package designer

import (
	"context"
	"strings"
	"time"

	"formwork/engine"
)

// Publish makes app's draft its next published version, checked with the
// import's code: EINVALID with the problems as field errors when the draft
// does not load; ECONFLICT with the data it would orphan as field errors
// when that is not empty and confirm is false. The draft is deleted in the
// same write (so Draft then returns the published bundle); ECONFLICT when
// the draft changed meanwhile, and (code stale_base, unless confirm) when
// the app was published since the draft began, since publishing would
// undo that version's changes. ENOTFOUND without a draft. Audited as
// app.publish.
func (d *Designer) Publish(ctx context.Context, p *engine.Principal, app string, opt PublishOptions) (*engine.AppVersion, error) {
	confirm := opt.Confirm
	if err := d.svc.AuthorizeDesign(ctx, p, app, "app.publish"); err != nil {
		return nil, err
	}
	cur, err := d.current(ctx, p, app)
	if err != nil {
		return nil, err
	}
	if cur.draft == nil {
		return nil, engine.Errorf(engine.ENOTFOUND, engine.Tf("应用 %q 没有待发布的草稿", "app %q has no draft to publish", app))
	}
	if err := d.checkKeys(ctx, app, cur, cur.data); err != nil {
		return nil, err
	}
	if _, err := engine.LoadBundle(cur.data); err != nil {
		return nil, err
	}
	if opt.SampleData && cur.base != 0 {
		return nil, engine.Invalid(engine.FieldError{Field: "/sample_data", Code: "first_version",
			Message: engine.T("示例数据只在应用首次发布时导入", "sample data is imported only with an app's first version")})
	}
	_, published, err := d.svc.AppVersionBundle(ctx, p, app, 0)
	if err != nil && engine.ErrorCode(err) != engine.ENOTFOUND {
		return nil, err
	}
	lost, err := d.svc.UpgradeImpact(ctx, p, app, cur.data)
	if err != nil {
		return nil, err
	}
	if (len(lost) > 0 || published != cur.base) && !confirm {
		e := &engine.Error{Code: engine.ECONFLICT, Message: engine.T("发布会丢弃已有数据或他人的修改，请确认后再发布", "publishing would orphan existing data or undo someone else's changes; confirm to publish")}
		if published != cur.base {
			e.Fields = append(e.Fields, StaleBase(cur.base, published))
		}
		for _, l := range lost {
			e.Fields = append(e.Fields, l.FieldError())
		}
		return nil, e
	}
	return d.svc.PublishApp(ctx, p, cur.data, engine.ImportOptions{ConfirmDataLoss: confirm, SampleData: opt.SampleData,
		With: []engine.DocWrite{{Doc: engine.Doc{Kind: KindDraft, ID: app}, ExpectVersion: cur.version, Delete: true}}})
}

// StaleBase is the field error of a draft begun from version base while
// the app has since been published as version published.
func StaleBase(base, published int) engine.FieldError {
	msg := engine.Tf("这份草稿基于第 %d 版，之后又发布了第 %d 版；发布草稿会撤销第 %[2]d 版的修改", "this draft began from version %d, and version %d was published since; publishing the draft undoes its changes", base, published)
	if base == 0 {
		msg = engine.Tf("这份草稿开始后，应用已由他人发布为第 %d 版；发布草稿会替换它", "the app was published by someone else as version %d after this draft began; publishing the draft replaces it", published)
	}
	return engine.FieldError{Field: "/", Code: "stale_base", Message: msg}
}

// PublishOptions tune Publish.
type PublishOptions struct {
	// Confirm publishes even though records would lose values (the diff's
	// impact).
	Confirm bool
	// SampleData also imports the bundle's sample records (an app started
	// from a spreadsheet keeps its rows there) as the publishing user, in
	// the background (engine.ImportJob); only with an app's first version.
	SampleData bool
}

// Version is one published version of an app, for the version history.
type Version struct {
	Version    int         `json:"version"`
	AppVersion string      `json:"app_version"`
	By         string      `json:"by"`
	At         time.Time   `json:"at"`
	Summary    engine.Text `json:"summary"`
}

// Versions lists app's published versions, newest first, each with a
// summary of what it changed from the one before. ENOTFOUND for an app
// never published. Designers only.
func (d *Designer) Versions(ctx context.Context, p *engine.Principal, app string) ([]Version, error) {
	if err := d.svc.AuthorizeDesign(ctx, p, app, "app.versions"); err != nil {
		return nil, err
	}
	infos, err := d.svc.AppVersions(ctx, p, app)
	if err != nil {
		return nil, err
	}
	out := make([]Version, len(infos))
	var next []byte // the bundle of the version after infos[i]
	for i := len(infos) - 1; i >= 0; i-- {
		in := infos[i]
		out[i] = Version{Version: in.Version, AppVersion: in.AppVersion, By: in.PublishedBy, At: in.PublishedAt}
		data, _, err := d.svc.AppVersionBundle(ctx, p, app, in.Version)
		if err != nil {
			return nil, err
		}
		var prev []byte
		if i < len(infos)-1 {
			prev = next
		}
		changes, err := diffBundles(prev, data)
		if err != nil {
			return nil, err
		}
		out[i].Summary = summarize(changes, prev == nil)
		next = data
	}
	return out, nil
}

// summarize names up to three changes, or counts them.
func summarize(changes []Change, first bool) engine.Text {
	switch {
	case first:
		return engine.T("首次发布", "first published")
	case len(changes) == 0:
		return engine.T("没有改动", "no changes")
	case len(changes) <= 3:
		var zh, en []string
		for _, c := range changes {
			zh, en = append(zh, c.Summary.Zh), append(en, c.Summary.En)
		}
		return engine.T(strings.Join(zh, "；"), strings.Join(en, "; "))
	}
	return engine.Tf("%d 处改动", "%d changes", len(changes))
}

// SetDesigners names the users (ids or emails) who may design app, in
// place of the previous list (administrators only; see
// engine.Service.SetAppDesigners).
func (d *Designer) SetDesigners(ctx context.Context, p *engine.Principal, app string, userRefs []string) error {
	return d.svc.SetAppDesigners(ctx, p, app, userRefs)
}

// Designers returns the ids of app's named designers (designers only).
func (d *Designer) Designers(ctx context.Context, p *engine.Principal, app string) ([]string, error) {
	return d.svc.AppDesigners(ctx, p, app)
}

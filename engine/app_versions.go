package engine

import (
	"context"
	"encoding/json"
	"time"
)

// DataLoss is one thing an upgrade would orphan: a removed form that still
// has records (Field empty), or a removed field that still holds values in
// Records records. Pointer is where the form or field sits in the
// published bundle.
type DataLoss struct {
	Form    string `json:"form"`
	Field   string `json:"field,omitempty"`
	Pointer string `json:"pointer"`
	Records int64  `json:"records"`
}

// FieldError is the loss as the field error an import refuses with (code
// "orphan").
func (l DataLoss) FieldError() FieldError {
	msg := Tf("删除表单 %s 会丢弃 %d 条记录", "removing form %s orphans %d records", l.Form, l.Records)
	if l.Field != "" {
		msg = Tf("删除字段 %s.%s 会丢弃 %d 条记录中的值", "removing field %s.%s drops its values in %d records", l.Form, l.Field, l.Records)
	}
	return FieldError{Field: l.Pointer, Code: "orphan", Message: msg}
}

// dataLoss lists what an upgrade from old to b would orphan. A removed
// field the filter language cannot select (a subform, an object) is left
// out: its values cannot be counted.
func (s *Service) dataLoss(ctx context.Context, old, b *Bundle) ([]DataLoss, error) {
	var out []DataLoss
	for _, of := range old.Forms {
		nf := b.Form(of.Key)
		if nf == nil {
			n, err := s.store.CountRecords(ctx, RecordQuery{App: old.App.Key, Form: of.Key})
			if err != nil {
				return nil, err
			}
			if n > 0 {
				out = append(out, DataLoss{Form: of.Key, Pointer: of.Pointer, Records: n})
			}
			continue
		}
		for _, fd := range of.Fields {
			if nf.Field(fd.Key) != nil {
				continue
			}
			q := RecordQuery{App: old.App.Key, Form: of.Key}
			e, err := ParseFilter(of, []byte(`{"`+fd.Key+`":{"$exists":true}}`), filterVarsZero())
			if err != nil {
				continue
			}
			q.Filter = e
			n, err := s.store.CountRecords(ctx, q)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				out = append(out, DataLoss{Form: of.Key, Field: fd.Key, Pointer: fd.Pointer, Records: n})
			}
		}
	}
	return out, nil
}

// UpgradeImpact answers what publishing data as the next version of app
// would orphan (empty for a new app), for those who may design the app. It
// writes nothing. data must load (see LoadBundle), else its EINVALID.
func (s *Service) UpgradeImpact(ctx context.Context, p *Principal, app string, data []byte) ([]DataLoss, error) {
	if err := s.AuthorizeDesign(ctx, p, app, "app.impact"); err != nil {
		return nil, err
	}
	b, err := LoadBundle(data)
	if err != nil {
		return nil, err
	}
	old, _, err := s.Bundle(ctx, app, 0)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, nil
		}
		return nil, err
	}
	return s.dataLoss(ctx, old, b)
}

// PublishApp is ImportApp for those who may design the bundle's app (see
// AuthorizeDesign) rather than administrators only; it checks and writes
// exactly as ImportApp does, audited as app.publish.
func (s *Service) PublishApp(ctx context.Context, p *Principal, data []byte, opt ImportOptions) (*AppVersion, error) {
	var top struct {
		App struct {
			Key string `json:"key"`
		} `json:"app"`
	}
	_ = json.Unmarshal(data, &top) // a bundle that does not parse fails in LoadBundle
	if err := s.AuthorizeDesign(ctx, p, top.App.Key, "app.publish"); err != nil {
		return nil, err
	}
	return s.importApp(ctx, p, data, opt)
}

// AppVersionInfo describes one published version of an app.
type AppVersionInfo struct {
	Version     int       `json:"version"`
	AppVersion  string    `json:"app_version"` // the bundle's own semantic version
	PublishedBy string    `json:"published_by"`
	PublishedAt time.Time `json:"published_at"`
}

// AppVersions lists the published versions of app, newest first, for
// those who may design it. ENOTFOUND for an app never published.
func (s *Service) AppVersions(ctx context.Context, p *Principal, app string) ([]AppVersionInfo, error) {
	if err := s.AuthorizeDesign(ctx, p, app, "app.versions"); err != nil {
		return nil, err
	}
	docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindAppVersion, Tag: "app:" + app})
	if err != nil {
		return nil, err
	}
	vds := decodeEach[appVersionDoc](docs, func(vd *appVersionDoc) bool { return vd.Key == app })
	if len(vds) == 0 {
		return nil, Errorf(ENOTFOUND, Tf("应用 %q 不存在", "app %q does not exist", app))
	}
	out := make([]AppVersionInfo, 0, len(vds))
	for i := len(vds) - 1; i >= 0; i-- { // IDs sort by zero-padded version
		vd := vds[i]
		var top struct {
			App struct {
				Version string `json:"version"`
			} `json:"app"`
		}
		_ = json.Unmarshal([]byte(vd.Bundle), &top) // sealing only cuts sample data out
		out = append(out, AppVersionInfo{Version: vd.Version, AppVersion: top.App.Version, PublishedBy: vd.PublishedBy, PublishedAt: vd.PublishedAt})
	}
	return out, nil
}

// AppVersionBundle returns the bundle of app at version (0 = the current
// one) exactly as it was published, sealed sample data opened, and the
// version it is, for those who may design the app. ENOTFOUND when there
// is no such version. Unlike ExportApp it writes no audit event: the
// designer reads it on every open.
func (s *Service) AppVersionBundle(ctx context.Context, p *Principal, app string, version int) ([]byte, int, error) {
	if err := s.AuthorizeDesign(ctx, p, app, "app.version.read"); err != nil {
		return nil, 0, err
	}
	version, err := s.versionOrCurrent(ctx, app, version)
	if err != nil {
		return nil, 0, err
	}
	vd, err := s.readAppVersion(ctx, app, version)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, 0, Errorf(ENOTFOUND, Tf("应用 %q 没有第 %d 版", "app %q has no version %d", app, version))
		}
		return nil, 0, err
	}
	data, err := openBundle(ctx, s.keys, vd)
	if err != nil {
		return nil, 0, err
	}
	return data, version, nil
}

// versionOrCurrent returns version, or for 0 the app's current version.
// ENOTFOUND for an app never published.
func (s *Service) versionOrCurrent(ctx context.Context, app string, version int) (int, error) {
	if version != 0 {
		return version, nil
	}
	if v, ok, err := s.access.currentApp(ctx, s.store, app); err != nil || ok {
		return v, err
	}
	a, docVer, err := s.findApp(ctx, app)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return 0, Errorf(ENOTFOUND, Tf("应用 %q 不存在", "app %q does not exist", app))
		}
		return 0, err
	}
	s.access.putApp(app, docVer, a.Version)
	return a.Version, nil
}

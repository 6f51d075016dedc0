package engine

import (
	"context"
	"sort"
)

// InstalledApp returns the published state of an app (administrators
// only): its published version and the bundle's own version. ENOTFOUND
// when the app has never been imported.
func (s *Service) InstalledApp(ctx context.Context, p *Principal, key string) (*AppVersion, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "app.read", key, "", "", "not an administrator", err)
	}
	a, _, err := s.findApp(ctx, key)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Errorf(ENOTFOUND, Tf("应用 %q 不存在", "app %q does not exist", key))
		}
		return nil, err
	}
	return &AppVersion{Key: a.Key, Version: a.Version, AppVersion: a.AppVersion}, nil
}

// ImportPlan is what importing a bundle would do, computed without
// writing: a new app, or an upgrade of the installed one with the forms
// and fields it adds and removes and the data it would orphan.
type ImportPlan struct {
	Key           string       `json:"key"`
	Current       *AppVersion  `json:"current,omitempty"` // nil: a new app
	Next          int          `json:"next"`              // the version the import would publish
	AppVersion    string       `json:"app_version"`
	AddedForms    []string     `json:"added_forms"`
	RemovedForms  []string     `json:"removed_forms"`
	AddedFields   []string     `json:"added_fields"`   // "form.field"
	RemovedFields []string     `json:"removed_fields"` // "form.field"
	Orphans       []FieldError `json:"orphans"`        // removed forms and fields that hold data: the import needs ConfirmDataLoss
	SampleRecords int          `json:"sample_records"`
}

// PlanImport validates a bundle and reports what importing it would do
// (administrators only); it writes nothing.
func (s *Service) PlanImport(ctx context.Context, p *Principal, data []byte) (*ImportPlan, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "app.import", "", "", "", "not an administrator", err)
	}
	b, err := LoadBundle(data)
	if err != nil {
		return nil, err
	}
	return s.planImport(ctx, b)
}

// PlanImportBundle is PlanImport for a bundle LoadBundle has already
// loaded (the template gallery keeps its templates loaded).
func (s *Service) PlanImportBundle(ctx context.Context, p *Principal, b *Bundle) (*ImportPlan, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "app.import", "", "", "", "not an administrator", err)
	}
	return s.planImport(ctx, b)
}

func (s *Service) planImport(ctx context.Context, b *Bundle) (*ImportPlan, error) {
	pl := &ImportPlan{Key: b.App.Key, Next: 1, AppVersion: b.App.Version, AddedForms: []string{}, RemovedForms: []string{},
		AddedFields: []string{}, RemovedFields: []string{}, Orphans: []FieldError{}}
	for _, recs := range b.SampleData {
		pl.SampleRecords += len(recs)
	}
	cur, _, err := s.findApp(ctx, b.App.Key)
	if err != nil {
		if ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
		for _, f := range b.Forms {
			pl.AddedForms = append(pl.AddedForms, f.Key)
		}
		return pl, nil
	}
	pl.Current = &AppVersion{Key: cur.Key, Version: cur.Version, AppVersion: cur.AppVersion}
	pl.Next = cur.Version + 1
	old, _, err := s.Bundle(ctx, b.App.Key, cur.Version)
	if err != nil {
		return nil, err
	}
	for _, f := range b.Forms {
		of := old.Form(f.Key)
		if of == nil {
			pl.AddedForms = append(pl.AddedForms, f.Key)
			continue
		}
		for _, fd := range f.Fields {
			if of.Field(fd.Key) == nil {
				pl.AddedFields = append(pl.AddedFields, f.Key+"."+fd.Key)
			}
		}
	}
	for _, of := range old.Forms {
		nf := b.Form(of.Key)
		if nf == nil {
			pl.RemovedForms = append(pl.RemovedForms, of.Key)
			continue
		}
		for _, fd := range of.Fields {
			if nf.Field(fd.Key) == nil {
				pl.RemovedFields = append(pl.RemovedFields, of.Key+"."+fd.Key)
			}
		}
	}
	sort.Strings(pl.AddedFields)
	sort.Strings(pl.RemovedFields)
	lost, err := s.orphans(ctx, old, b)
	if err != nil {
		return nil, err
	}
	if lost != nil {
		pl.Orphans = lost
	}
	return pl, nil
}

// ImportJobs lists the sample-data imports of an app, oldest first
// (administrators only).
func (s *Service) ImportJobs(ctx context.Context, p *Principal, app string) ([]*ImportJob, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "app.import", app, "", "", "not an administrator", err)
	}
	docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindImportJob, Tag: "app:" + app})
	if err != nil {
		return nil, err
	}
	return decodeEach[ImportJob](docs, nil), nil
}

package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Doc kinds of app definitions.
const (
	KindApp        = "app"
	KindAppVersion = "app_version"
)

// AppVersion names one published version of an app.
type AppVersion struct {
	Key        string `json:"key"`
	Version    int    `json:"version"`     // published version number, 1, 2, …
	AppVersion string `json:"app_version"` // the bundle's own semantic version
	// Job is the sample-data import started with the publish (see ImportJob).
	Job string `json:"job,omitempty"`
}

// appDoc is the current state of an app.
type appDoc struct {
	Key        string    `json:"key"`
	Name       Text      `json:"name"`
	Version    int       `json:"version"`
	AppVersion string    `json:"app_version"`
	UpdatedAt  time.Time `json:"updated_at"`
	UpdatedBy  string    `json:"updated_by"`
}

type appVersionDoc struct {
	Key     string `json:"key"`
	Version int    `json:"version"`
	// Bundle is the document exactly as imported (a string, so its bytes
	// survive: export gives back what was imported), except that with
	// Sealed each sample_data value is cut out, "{}" standing in for it
	// (see sealBundle)
	Bundle      string       `json:"bundle"`
	Sealed      []sealedSpan `json:"sealed,omitempty"`
	PublishedAt time.Time    `json:"published_at"`
	PublishedBy string       `json:"published_by"`
}

// ImportOptions tune ImportApp.
type ImportOptions struct {
	SampleData bool // also create the bundle's sample records
	// ConfirmDataLoss applies an upgrade that drops fields or forms which
	// still hold values; without it such an upgrade is refused with the list.
	ConfirmDataLoss bool
	// Wait runs the sample-data import in the caller's goroutine, calling
	// Progress (if set) after every batch; by default it runs in the
	// background and ImportApp returns at once with the job's id.
	Wait     bool
	Progress func(ImportJob)
	// With are further doc writes to make in the same atomic write as the
	// publish (the designer deletes the draft it publishes); a stale one
	// fails the whole publish with ECONFLICT.
	With []DocWrite
}

// orphans lists what an upgrade from old to b would orphan: removed forms
// with records and removed fields with values, as field errors (code
// "orphan") pointing at the old bundle's definitions.
func (s *Service) orphans(ctx context.Context, old, b *Bundle) ([]FieldError, error) {
	lost, err := s.dataLoss(ctx, old, b)
	if err != nil {
		return nil, err
	}
	out := make([]FieldError, 0, len(lost))
	for _, l := range lost {
		out = append(out, l.FieldError())
	}
	return out, nil
}

// ImportApp validates a bundle and publishes it as the app's next version
// (the first import creates the app). Records keep the version they were
// written under. With SampleData, the bundle's sample records are created
// as the importing user by an import job (see ImportJob) recorded in the
// same write as the publish, so a stopped process cannot lose it.
func (s *Service) ImportApp(ctx context.Context, p *Principal, data []byte, opt ImportOptions) (*AppVersion, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "app.import", "", "", "", "not an administrator", err)
	}
	return s.importApp(ctx, p, data, opt)
}

// importApp is ImportApp once the caller's right to publish is checked.
func (s *Service) importApp(ctx context.Context, p *Principal, data []byte, opt ImportOptions) (*AppVersion, error) {
	b, err := LoadBundle(data)
	if err != nil {
		return nil, err
	}
	now := s.now()
	cur, curVer, err := s.findApp(ctx, b.App.Key)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	next := 1
	if cur != nil {
		next = cur.Version + 1
		old, _, err := s.Bundle(ctx, b.App.Key, cur.Version)
		if err != nil {
			return nil, err
		}
		lost, err := s.orphans(ctx, old, b)
		if err != nil {
			return nil, err
		}
		if len(lost) > 0 && !opt.ConfirmDataLoss {
			return nil, &Error{Code: ECONFLICT, Message: T("升级会丢弃已有数据，请确认后再导入", "the upgrade would orphan existing data; confirm to apply it"), Fields: lost}
		}
	}
	ad := appDoc{Key: b.App.Key, Name: b.App.Name, Version: next, AppVersion: b.App.Version, UpdatedAt: now, UpdatedBy: p.Actor()}
	vd := appVersionDoc{Key: b.App.Key, Version: next, PublishedAt: now, PublishedBy: p.Actor()}
	if err := sealBundle(ctx, s.keys, &vd, data); err != nil {
		return nil, err
	}
	expect := int64(0)
	if cur != nil {
		expect = curVer
	}
	ch := &Change{
		Docs: []DocWrite{
			{Doc: Doc{Kind: KindApp, ID: b.App.Key, Value: MustJSON(ad)}, ExpectVersion: expect},
			{Doc: Doc{Kind: KindAppVersion, ID: appVersionID(b.App.Key, next), Tags: []string{"app:" + b.App.Key}, Value: MustJSON(vd)}},
		},
		Audit: []*AuditEvent{s.Event(p, "app.publish", b.App.Key, "", b.App.Key+"@"+strconv.Itoa(next), nil, ResultOK, "")},
	}
	ch.Docs = append(ch.Docs, opt.With...)
	var job *ImportJob
	if opt.SampleData {
		var docs []DocWrite
		var jobs []OutboxJob
		job, docs, jobs = s.newImportJob(p, b, next)
		ch.Docs = append(ch.Docs, docs...)
		ch.Outbox = append(ch.Outbox, jobs...)
	}
	if _, err := s.store.Apply(ctx, ch); err != nil {
		return nil, err
	}
	if err := s.ensureFormIndexes(ctx, b); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	s.putBundle(b.App.Key, next, b)
	v := &AppVersion{Key: b.App.Key, Version: next, AppVersion: b.App.Version}
	if job != nil {
		v.Job = job.ID
		if !opt.Wait {
			s.startImportJob(job.ID)
			return v, nil
		}
		if _, err := s.runImportJob(ctx, job.ID, opt.Progress); err != nil {
			return v, err
		}
	}
	return v, nil
}

// indexedFields are the fields of f the store indexes: those marked
// x-index, and those a dashboard groups f's records by (a chart's GROUP BY
// then reads the index alone, not every record).
func indexedFields(b *Bundle, f *Form) []string {
	var out []string
	for _, fd := range f.Fields {
		if fd.Index {
			out = append(out, fd.Key)
		}
	}
	for _, d := range b.Dashboards {
		for _, c := range d.Charts {
			for _, g := range c.groups() {
				if fd := f.Field(g.Field); c.Form == f.Key && fd != nil && !slices.Contains(out, g.Field) && fd.Type != "array" {
					out = append(out, g.Field)
				}
			}
		}
	}
	return out
}

func prefixErrors(errs []FieldError, prefix string) []FieldError {
	out := make([]FieldError, len(errs))
	for i, e := range errs {
		e.Field = prefix + e.Field
		out[i] = e
	}
	return out
}

func appVersionID(app string, v int) string { return fmt.Sprintf("%s@%08d", app, v) }

func (s *Service) findApp(ctx context.Context, key string) (*appDoc, int64, error) {
	return findDocAs[appDoc](ctx, s.store, KindApp, key)
}

func (s *Service) putBundle(app string, version int, b *Bundle) {
	s.mu.Lock()
	s.bundles[appVersionID(app, version)] = b
	if s.formVersions == nil {
		s.formVersions = map[*Form]int{}
	}
	for _, f := range b.Forms {
		s.formVersions[f] = version
	}
	s.mu.Unlock()
}

// formVersion is the app version whose loaded bundle holds f (0: not one
// of them). A request's query over f carries it (RecordQuery.appVersion):
// f is the form of the version the request resolved, so the encrypting
// store learns which of its fields are encrypted without reading the app
// document again.
func (s *Service) formVersion(f *Form) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.formVersions[f]
}

// Bundle returns the loaded Bundle of an app at a version (0 = current).
func (s *Service) Bundle(ctx context.Context, app string, version int) (*Bundle, int, error) {
	version, err := s.versionOrCurrent(ctx, app, version)
	if err != nil {
		return nil, 0, err
	}
	id := appVersionID(app, version)
	s.mu.Lock()
	b := s.bundles[id]
	s.mu.Unlock()
	if b != nil {
		return b, version, nil
	}
	vd, err := s.readAppVersion(ctx, app, version)
	if err != nil {
		return nil, 0, err
	}
	data, err := openBundle(ctx, s.keys, vd)
	if err != nil {
		return nil, 0, err
	}
	b, err = LoadBundle(data)
	if err != nil {
		return nil, 0, fmt.Errorf("app version %s no longer loads: %w", id, err)
	}
	s.putBundle(app, version, b)
	return b, version, nil
}

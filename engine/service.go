package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Principal is who acts: a signed-in user and the request's address.
type Principal struct {
	User *User
	IP   string
}

func (p *Principal) Actor() string {
	if p == nil || p.User == nil {
		return SystemActor
	}
	return p.User.ID
}

// Service is the one engine call every read and write goes through: it
// loads published definitions, resolves access, evaluates rules, redacts
// what leaves, and writes each action atomically with its audit event.
type Service struct {
	store Store
	org   *Org
	now   func() time.Time
	audit *AuditWriter
	totp  TOTP           // one-time passwords of two-factor logins; nil refuses them
	keys  *Keyring       // the encrypting store's keyring; nil when nothing is encrypted at rest
	zone  *time.Location // the organisation's time zone

	mu      sync.Mutex
	bundles map[string]*Bundle // "app@version"
	hooks   []RecordHook

	// background sample-data imports of this process; Close stops them
	jobs    sync.WaitGroup
	jobCtx  context.Context
	jobStop context.CancelFunc
}

// RecordEvent describes a record change about to be written, for hooks.
type RecordEvent struct {
	Principal *Principal
	Bundle    *Bundle
	Form      *Form
	Op        WriteOp // WriteCreate, WriteUpdate, WriteDelete, WriteRestore
	Before    *Record // nil on create
	After     *Record // the state to write; a hook may change Status
}

// RecordHook runs inside a user action, before its one atomic write: it may
// add docs, audit events and outbox jobs to the Change (the workflow
// runtime starts approvals this way) or refuse the action with an error.
type RecordHook func(ctx context.Context, ev *RecordEvent, ch *Change) error

// AddRecordHook registers a hook; call it before serving requests.
func (s *Service) AddRecordHook(h RecordHook) { s.hooks = append(s.hooks, h) }

// Now returns the service clock's current time.
func (s *Service) Now() time.Time { return s.now() }

// runHooks lets every hook extend the change of a record action.
func (s *Service) runHooks(ctx context.Context, ev *RecordEvent, ch *Change) error {
	for _, h := range s.hooks {
		if err := h(ctx, ev, ch); err != nil {
			return err
		}
	}
	return nil
}

// ServiceOptions are the collaborators cmd/formwork wires into a Service;
// zero values pick the defaults.
type ServiceOptions struct {
	// Clock gives the current time; default time.Now.
	Clock func() time.Time
	// TOTP checks the codes of two-factor logins (engine/totp implements
	// it); nil refuses enrolment and lets nobody through the second step.
	TOTP TOTP
	// Keys is the keyring of the EncryptingStore the service runs on; it
	// seals stored bundles' sample data and TOTP secrets, and tells which
	// fields are searched by their blind index. Nil when the store keeps
	// nothing encrypted.
	Keys *Keyring
	// TimeZone is the organisation's: role policies' hours and weekdays
	// and the rules' `today` are read in it; default UTC.
	TimeZone *time.Location
}

// NewService returns the service over a store, with the collaborators opt
// names.
func NewService(store Store, org *Org, opt ServiceOptions) *Service {
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	if opt.TimeZone == nil {
		opt.TimeZone = time.UTC
	}
	s := &Service{store: store, org: org, now: opt.Clock, totp: opt.TOTP, keys: opt.Keys, zone: opt.TimeZone, bundles: map[string]*Bundle{},
		audit: NewAuditWriter(store, AuditWriterOptions{})}
	s.jobCtx, s.jobStop = context.WithCancel(context.Background())
	return s
}

// Close stops the background imports of this process (their outbox jobs
// finish them later) and flushes pending audit events.
func (s *Service) Close() {
	s.jobStop()
	s.jobs.Wait()
	s.audit.Close()
}

// Store returns the underlying store.
func (s *Service) Store() Store { return s.store }

// Org returns the organisation service.
func (s *Service) Org() *Org { return s.org }

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
}

// orphans lists what an upgrade from old to b would orphan: removed forms
// with records and removed fields with values, as field errors (code
// "orphan") pointing at the old bundle's definitions.
func (s *Service) orphans(ctx context.Context, old, b *Bundle) ([]FieldError, error) {
	var out []FieldError
	for _, of := range old.Forms {
		nf := b.Form(of.Key)
		if nf == nil {
			n, err := s.store.CountRecords(ctx, RecordQuery{App: old.App.Key, Form: of.Key})
			if err != nil {
				return nil, err
			}
			if n > 0 {
				out = append(out, FieldError{Field: of.Pointer, Code: "orphan", Message: Tf("删除表单 %s 会丢弃 %d 条记录", "removing form %s orphans %d records", of.Key, n)})
			}
			continue
		}
		for _, fd := range of.Fields {
			if nf.Field(fd.Key) != nil {
				continue
			}
			q := RecordQuery{App: old.App.Key, Form: of.Key}
			if e, err := ParseFilter(of, []byte(`{"`+fd.Key+`":{"$exists":true}}`), filterVarsZero()); err == nil {
				q.Filter = e
			} else {
				continue // not filterable (subform, object): counted as a removed field without a count
			}
			n, err := s.store.CountRecords(ctx, q)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				out = append(out, FieldError{Field: fd.Pointer, Code: "orphan", Message: Tf("删除字段 %s.%s 会丢弃 %d 条记录中的值", "removing field %s.%s drops its values in %d records", of.Key, fd.Key, n)})
			}
		}
	}
	return out, nil
}

func (s *Service) Event(p *Principal, action, app, form, object string, fields []string, result, reason string) *AuditEvent {
	ev := &AuditEvent{Time: s.now(), Actor: p.Actor(), Action: action, App: app, Form: form, Object: object,
		Fields: fields, Result: result, Reason: reason}
	if p != nil {
		ev.IP = p.IP
	}
	return ev
}

// Audit writes an extra audit event (login, logout, page views) through the
// group-commit writer; it waits for the commit.
func (s *Service) Audit(ctx context.Context, p *Principal, action, app, form, object, result, reason string) error {
	return s.audit.Write(ctx, s.Event(p, action, app, form, object, nil, result, reason))
}

// WriteAudit writes an event another part of the product built (the
// workflow runtime's task views) through the group-commit writer; it waits
// for the commit.
func (s *Service) WriteAudit(ctx context.Context, ev *AuditEvent) error {
	return s.audit.Write(ctx, ev)
}

// deny records a denial and returns the error to give the caller.
func (s *Service) deny(ctx context.Context, p *Principal, action, app, form, object, reason string, err error) error {
	_ = s.audit.Write(ctx, s.Event(p, action, app, form, object, nil, ResultDenied, reason))
	return err
}

func requireAdmin(p *Principal) error {
	if p == nil || p.User == nil {
		return Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	if !p.User.Admin {
		return Errorf(EFORBIDDEN, T("需要系统管理员权限", "system administrators only"))
	}
	return nil
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
	for _, f := range b.Forms {
		if err := s.store.EnsureIndexes(ctx, FormIndex{App: b.App.Key, Form: f.Key, Fields: indexedFields(f)}); err != nil {
			return nil, fmt.Errorf("import app %s: indexes of %s: %w", b.App.Key, f.Key, err)
		}
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

func indexedFields(f *Form) []string {
	var out []string
	for _, fd := range f.Fields {
		if fd.Index {
			out = append(out, fd.Key)
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

func MustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("engine: marshal: " + err.Error())
	}
	return b
}

func (s *Service) findApp(ctx context.Context, key string) (*appDoc, int64, error) {
	return findDocAs[appDoc](ctx, s.store, KindApp, key)
}

func (s *Service) putBundle(app string, version int, b *Bundle) {
	s.mu.Lock()
	s.bundles[appVersionID(app, version)] = b
	s.mu.Unlock()
}

// Bundle returns the loaded Bundle of an app at a version (0 = current).
func (s *Service) Bundle(ctx context.Context, app string, version int) (*Bundle, int, error) {
	if version == 0 {
		a, _, err := s.findApp(ctx, app)
		if err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return nil, 0, Errorf(ENOTFOUND, Tf("应用 %q 不存在", "app %q does not exist", app))
			}
			return nil, 0, err
		}
		version = a.Version
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

// ExportApp returns the app's current bundle exactly as it was published.
func (s *Service) ExportApp(ctx context.Context, p *Principal, app string) ([]byte, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "app.export", app, "", "", "not an administrator", err)
	}
	_, v, err := s.Bundle(ctx, app, 0)
	if err != nil {
		return nil, err
	}
	vd, err := s.readAppVersion(ctx, app, v)
	if err != nil {
		return nil, err
	}
	data, err := openBundle(ctx, s.keys, vd)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Write(ctx, s.Event(p, "app.export", app, "", app, nil, ResultOK, "")); err != nil {
		return nil, err
	}
	return data, nil
}

// AppSummary is an app as its home page lists it.
type AppSummary struct {
	Key     string        `json:"key"`
	Name    Text          `json:"name"`
	Version int           `json:"version"`
	Forms   []FormSummary `json:"forms"`
}

// FormSummary is a form the user may use.
type FormSummary struct {
	Key       string `json:"key"`
	Title     Text   `json:"title"`
	CanCreate bool   `json:"can_create"`
	CanRead   bool   `json:"can_read"`
}

// ListApps lists the apps and forms the user may use.
func (s *Service) ListApps(ctx context.Context, p *Principal) ([]*AppSummary, error) {
	if p == nil || p.User == nil {
		return nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	var out []*AppSummary
	err := s.eachApp(ctx, func(a *appDoc, b *Bundle) error {
		sum := &AppSummary{Key: a.Key, Name: a.Name, Version: a.Version}
		for _, f := range b.Forms {
			acc, err := s.resolveAccess(ctx, p, b, f)
			if err != nil {
				return err
			}
			if acc.Can(OpCreate) || acc.Can(OpRead) {
				sum.Forms = append(sum.Forms, FormSummary{Key: f.Key, Title: f.Title, CanCreate: acc.Can(OpCreate), CanRead: acc.Can(OpRead)})
			}
		}
		if len(sum.Forms) > 0 {
			out = append(out, sum)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// FieldView is a field as one user may see it.
type FieldView struct {
	Field *Field `json:"-"`
	Perm  string `json:"perm"`
}

// FormView is the published form as one user may see it: hidden fields
// absent, each field with the user's permission.
type FormView struct {
	App        string            `json:"app"`
	Key        string            `json:"key"`
	Version    int               `json:"version"`
	Title      Text              `json:"title"`
	Fields     []*FieldView      `json:"-"`
	Layout     []Section         `json:"layout,omitempty"`
	Operations []string          `json:"operations"`
	Schema     json.RawMessage   `json:"schema"`
	Perms      map[string]string `json:"fields"`
	Form       *Form             `json:"-"`
}

// FormView returns the published form as p may see it. ENOTFOUND when the
// app or form is missing or p may neither read nor create on it.
func (s *Service) FormView(ctx context.Context, p *Principal, app, form string) (*FormView, error) {
	b, v, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	_ = b
	if !acc.Can(OpRead) && !acc.Can(OpCreate) {
		return nil, s.deny(ctx, p, "form.view", app, form, "", "no read or create permission", notFoundForm(app, form))
	}
	fv := &FormView{App: app, Key: f.Key, Version: v, Title: f.Title, Operations: acc.OperationList(), Perms: map[string]string{}, Form: f}
	hidden := map[string]bool{}
	for _, fd := range f.Fields {
		perm := acc.Field(fd.Key)
		if perm == PermHidden {
			hidden[fd.Key] = true
			continue
		}
		fv.Fields = append(fv.Fields, &FieldView{Field: fd, Perm: perm})
		fv.Perms[fd.Key] = perm
	}
	for _, sec := range f.Layout {
		ns := sec
		ns.Fields = nil
		for _, k := range sec.Fields {
			if !hidden[k] {
				ns.Fields = append(ns.Fields, k)
			}
		}
		if len(ns.Fields) > 0 {
			fv.Layout = append(fv.Layout, ns)
		}
	}
	fv.Schema = redactSchema(f.Raw, hidden)
	return fv, nil
}

// redactSchema removes hidden fields (and their mentions in required and
// the layout) from a form document.
func redactSchema(raw json.RawMessage, hidden map[string]bool) json.RawMessage {
	if len(hidden) == 0 {
		return raw
	}
	var doc map[string]any
	if json.Unmarshal(raw, &doc) != nil {
		return raw
	}
	if props, ok := doc["properties"].(map[string]any); ok {
		for k := range hidden {
			delete(props, k)
		}
		// a rule that names a hidden field would reveal it: the server
		// evaluates rules, so the view drops such expressions
		for _, p := range props {
			pm, ok := p.(map[string]any)
			if !ok {
				continue
			}
			for _, kw := range []string{"x-visible", "x-required", "x-readonly", "x-compute"} {
				if src, ok := pm[kw].(string); ok && mentionsAny(src, hidden) {
					delete(pm, kw)
				}
			}
		}
	}
	if req, ok := doc["required"].([]any); ok {
		var keep []any
		for _, r := range req {
			if s, _ := r.(string); !hidden[s] {
				keep = append(keep, r)
			}
		}
		doc["required"] = keep
	}
	if lay, ok := doc["x-layout"].([]any); ok {
		for _, sec := range lay {
			if m, ok := sec.(map[string]any); ok {
				if fs, ok := m["fields"].([]any); ok {
					var keep []any
					for _, k := range fs {
						if s, _ := k.(string); !hidden[s] {
							keep = append(keep, k)
						}
					}
					m["fields"] = keep
				}
			}
		}
	}
	// checks may name hidden fields in their expressions: drop them from the view
	delete(doc, "x-checks")
	return MustJSON(doc)
}

func notFoundForm(app, form string) error {
	return Errorf(ENOTFOUND, Tf("表单 %s/%s 不存在", "form %s/%s does not exist", app, form))
}

// formAccess loads the current bundle and the user's access to one form.
func (s *Service) formAccess(ctx context.Context, p *Principal, app, form string) (*Bundle, int, *Form, *Access, error) {
	if p == nil || p.User == nil {
		return nil, 0, nil, nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	b, v, err := s.Bundle(ctx, app, 0)
	if err != nil {
		return nil, 0, nil, nil, err
	}
	f := b.Form(form)
	if f == nil {
		return nil, 0, nil, nil, notFoundForm(app, form)
	}
	acc, err := s.useAccess(ctx, p, b, f)
	if err != nil {
		return nil, 0, nil, nil, err
	}
	return b, v, f, acc, nil
}

func UserEnvFor(u *User, app string) UserEnv {
	if u == nil {
		return UserEnv{Roles: []string{}}
	}
	roles := append([]string{}, u.Roles[app]...)
	return UserEnv{ID: u.ID, Unit: u.Unit, Roles: roles}
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// AuditEvents reads the audit log (administrators only).
func (s *Service) AuditEvents(ctx context.Context, p *Principal, q AuditQuery) (*AuditPage, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "audit.read", "", "", "", "not an administrator", err)
	}
	page, err := s.store.FindAuditEvents(ctx, q)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Write(ctx, s.Event(p, "audit.read", "", "", "", nil, ResultOK, "")); err != nil {
		return nil, err
	}
	return page, nil
}

// VerifyAudit walks the audit chain (administrators only).
func (s *Service) VerifyAudit(ctx context.Context, p *Principal) (int64, *AuditBreak, error) {
	if err := requireAdmin(p); err != nil {
		return 0, nil, s.deny(ctx, p, "audit.verify", "", "", "", "not an administrator", err)
	}
	n, brk, err := VerifyAudit(ctx, s.store)
	if err != nil {
		return 0, nil, err
	}
	_ = s.audit.Write(ctx, s.Event(p, "audit.verify", "", "", "", nil, ResultOK, ""))
	return n, brk, nil
}

// mentionsAny reports whether an expression names any of the keys as an identifier.
func mentionsAny(src string, keys map[string]bool) bool {
	isIdent := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i := 0; i < len(src); {
		if !isIdent(src[i]) {
			i++
			continue
		}
		j := i
		for j < len(src) && isIdent(src[j]) {
			j++
		}
		if keys[src[i:j]] {
			return true
		}
		i = j
	}
	return false
}

package engine

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// Principal is who acts: a signed-in user and the request's address.
type Principal struct {
	User *User
	IP   string
	// Link is set when an anonymous person acts through a public form
	// link (engine/public_link.go): User is then the link's owner, placed
	// in the link's unit, and audit events name the link, not the owner.
	Link string
	// Token is the personal API token the request carries (nil for a
	// browser session or a login token): it may limit the apps the
	// principal acts in and manages nothing of the account (see AllowsApp).
	Token *APIToken
	// Auth is set when the request's authentication read the user
	// (Org.Authenticate): the versions it read, current for this request,
	// so the service need not read the user again and may reuse the
	// Access it computed at the same versions. Nil: the service reads the
	// user again itself.
	Auth *AuthVersions
	// AppDoc is set when the request's authentication also read the
	// version of the app doc of the app the request is in
	// (Org.AuthenticateIn): current for this request, so the service
	// takes the app's current version from it rather than reading it.
	AppDoc *AppDocVersion
}

// Actor is the id audit events and revisions name for p: the user's id,
// PublicActor of the link someone filled a public form through, or the
// system actor when there is no user.
func (p *Principal) Actor() string {
	if p == nil || p.User == nil {
		return SystemActor
	}
	if p.Link != "" {
		return PublicActor(p.Link)
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
	watch *anomalyWatch  // evaluates the anomaly rules on committed audit events
	obs   Observer       // metrics hooks (engine/metrics.go)
	// maxBlob is the most bytes one upload may hold (ServiceOptions.MaxBlobSize)
	maxBlob int64

	mu      sync.Mutex
	bundles map[string]*Bundle // "app@version"
	// formVersions is the app version of each loaded bundle's forms (see formVersion)
	formVersions map[*Form]int
	hooks        []RecordHook

	shareHooks []RecordShareHook // record_share.go

	access accessCache // computed Access, per user and form (access_cache.go)

	alertHooks []AlertHook

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
	// Observer receives rule-evaluation and audit-write timings (metrics);
	// zero: none are reported.
	Observer Observer
	// MaxBlobSize is the most bytes one upload may hold, up to
	// MaxBlobSizeLimit; zero: DefaultMaxBlobSize.
	MaxBlobSize int64
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
	if opt.MaxBlobSize <= 0 {
		opt.MaxBlobSize = DefaultMaxBlobSize
	}
	opt.MaxBlobSize = min(opt.MaxBlobSize, MaxBlobSizeLimit)
	s := &Service{store: store, org: org, now: opt.Clock, totp: opt.TOTP, keys: opt.Keys, zone: opt.TimeZone, obs: opt.Observer, bundles: map[string]*Bundle{},
		maxBlob: opt.MaxBlobSize}
	s.watch = newAnomalyWatch(s)
	if org != nil {
		org.observe = s.watch.observe
	}
	s.audit = NewAuditWriter(store, AuditWriterOptions{Committed: s.watch.observe, Observe: opt.Observer.AuditWrite})
	s.jobCtx, s.jobStop = context.WithCancel(context.Background())
	return s
}

// Close stops the background imports of this process (their outbox jobs
// finish them later) and flushes pending audit events.
func (s *Service) Close() {
	s.jobStop()
	s.jobs.Wait()
	s.audit.Close()
	s.watch.close()
	if s.org != nil {
		s.org.Wait()
	}
}

// Store returns the underlying store.
func (s *Service) Store() Store { return s.store }

// Org returns the organisation service.
func (s *Service) Org() *Org { return s.org }

// RequireAdmin is EUNAUTHORIZED without a user and EFORBIDDEN for anyone
// but a system administrator: for the parts of the product outside this
// package (the workflow runtime) that offer administrators' actions.
func RequireAdmin(p *Principal) error { return requireAdmin(p) }

func requireAdmin(p *Principal) error {
	if p == nil || p.User == nil {
		return Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	if !p.User.Admin {
		return Errorf(EFORBIDDEN, T("需要系统管理员权限", "system administrators only"))
	}
	if limitedToken(p) {
		return errLimitedToken
	}
	return nil
}

// MustJSON marshals a value the engine built itself (a doc, a payload, an
// audit detail); failing to is a programming error, so it panics.
func MustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("engine: marshal: " + err.Error())
	}
	return b
}

// UserEnvFor is what rules see of u as `user` in app: id, unit and the
// roles held in that app.
func UserEnvFor(u *User, app string) UserEnv {
	if u == nil {
		return UserEnv{Roles: []string{}}
	}
	roles := append([]string{}, u.Roles[app]...)
	return UserEnv{ID: u.ID, Unit: u.Unit, Roles: roles}
}

package engine

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"formwork/engine/filter"
)

// PolicyHolds reports whether a role's access policy allows a request at
// t from ip, t in the organisation's time zone (its hours and weekdays are
// read there); when it does not, the reason says which condition failed.
// A nil policy always holds.
func PolicyHolds(pol *AccessPolicy, t time.Time, ip string) (bool, string) {
	if pol == nil {
		return true, ""
	}
	loc := t.Location()
	if len(pol.Weekdays) > 0 {
		wd := int(t.Weekday())
		if wd == 0 {
			wd = 7
		}
		if !slices.Contains(pol.Weekdays, wd) {
			return false, fmt.Sprintf("weekday %d is not one of %v", wd, pol.Weekdays)
		}
	}
	if pol.Hours != "" {
		from, to, err := ParseHours(pol.Hours)
		if err != nil {
			return false, "invalid hours " + pol.Hours
		}
		m := t.Hour()*60 + t.Minute()
		in := from <= m && m < to
		if to < from { // spans midnight
			in = m >= from || m < to
		}
		if !in {
			return false, fmt.Sprintf("%s is outside hours %s (%s)", t.Format("15:04"), pol.Hours, loc)
		}
	}
	if len(pol.IP) > 0 {
		host := ip
		if h, _, err := splitHostPort(ip); err == nil {
			host = h
		}
		addr, err := netip.ParseAddr(host)
		if err != nil {
			return false, fmt.Sprintf("address %q is not an IP address", ip)
		}
		addr = addr.Unmap()
		for _, c := range pol.IP {
			pfx, err := netip.ParsePrefix(c)
			if err != nil {
				if a, err2 := netip.ParseAddr(c); err2 == nil && a == addr {
					return true, ""
				}
				continue
			}
			if pfx.Contains(addr) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("address %s is outside %v", addr, pol.IP)
	}
	return true, ""
}

func splitHostPort(s string) (string, string, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return "", "", err
	}
	return ap.Addr().String(), fmt.Sprint(ap.Port()), nil
}

// Access is what one user may do on one form: the union of their roles'
// permissions (plus, later, unexpired temporary grants).
type Access struct {
	Ops    map[string]bool
	All    bool          // scope covers every record
	Scopes []filter.Expr // otherwise: a record is in scope when any holds
	Fields map[string]string
	Roles  []string // the roles that contributed
	Grants []string // the temporary grants that contributed
	Admin  bool

	PolicyDenied []string     // roles left out because their access policy does not hold now
	Trace        []AccessRule // every source considered, for Explain
}

// Can reports whether the operation is allowed.
func (a *Access) Can(op string) bool { return a.Ops[op] }

// Field returns the permission on a field key.
func (a *Access) Field(key string) string {
	if p, ok := a.Fields[key]; ok {
		return p
	}
	return PermHidden
}

// ScopeFilter returns the filter that limits records to the scope; nil
// means all records.
func (a *Access) ScopeFilter() filter.Expr {
	if a.All {
		return nil
	}
	if len(a.Scopes) == 0 {
		return filter.Or{} // nothing
	}
	if len(a.Scopes) == 1 {
		return a.Scopes[0]
	}
	return filter.Or{Items: a.Scopes}
}

// OperationList returns the allowed operations in a stable order.
func (a *Access) OperationList() []string {
	var out []string
	for _, op := range Operations() {
		if a.Ops[op] {
			out = append(out, op)
		}
	}
	return out
}

// Operations lists every operation a role may be given, in the order
// the pages show them.
func Operations() []string {
	return []string{OpCreate, OpRead, OpUpdate, OpDelete, OpExport, OpImport, OpPrint}
}

// AccessRule is one source that contributed to (or was left out of) an
// Access: a role or a temporary grant, with what it gives on the form.
type AccessRule struct {
	Source   string            `json:"source"` // "role:staff", "grant:<id>", "admin"
	Ops      []string          `json:"operations,omitempty"`
	Scope    string            `json:"scope,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
	Applies  bool              `json:"applies"`
	Reason   string            `json:"reason,omitempty"` // why it does not apply (policy, expiry)
	Expires  *time.Time        `json:"expires_at,omitempty"`
	scopeExp filter.Expr
}

// useAccess resolves a user's access to a form for an action they are
// taking, and audits what the answer rested on: the temporary grants it
// used (grant.use) and the role policies that did not hold
// (access.policy).
func (s *Service) useAccess(ctx context.Context, pr *Principal, b *Bundle, f *Form) (*Access, error) {
	if err := CheckTokenApp(pr, b.App.Key); err != nil {
		return nil, s.deny(ctx, pr, "token.app", b.App.Key, f.Key, "", "personal token limited to other apps", err)
	}
	a, err := s.resolveAccess(ctx, pr, b, f)
	if err != nil {
		return nil, err
	}
	if len(a.Grants) > 0 {
		_ = s.audit.Write(ctx, s.Event(pr, "grant.use", b.App.Key, f.Key, "", nil, ResultOK, strings.Join(a.Grants, ",")))
	}
	if len(a.PolicyDenied) > 0 {
		_ = s.audit.Write(ctx, s.Event(pr, "access.policy", b.App.Key, f.Key, "", nil, ResultDenied,
			"role policy does not hold: "+strings.Join(a.PolicyDenied, "; ")))
	}
	return a, nil
}

// resolveAccess computes a user's access to a form of a loaded bundle: the
// union of their roles whose access policy holds for this request (time
// and address) and of their unexpired temporary grants. The user is read
// again from the store — or, for a request's principal, is the user its
// authentication just checked against the store (Principal.Auth) — so a
// freeze or a role change takes effect on the very next call on every
// node: a frozen user gets ELOCKED, one whose
// password an administrator reset EPASSWORDCHANGE, and a personal token
// limited to other apps EFORBIDDEN.
// It answers a question and writes nothing: callers acting on the answer
// go through useAccess, which audits.
func (s *Service) resolveAccess(ctx context.Context, pr *Principal, b *Bundle, f *Form) (*Access, error) {
	if err := CheckTokenApp(pr, b.App.Key); err != nil {
		return nil, err
	}
	if pr.Auth != nil && pr.Link == "" && pr.User != nil && pr.User.Version == pr.Auth.User {
		// the user as this request's authentication read it
		if err := checkActive(pr.User); err != nil {
			return nil, err
		}
		return s.cachedAccess(ctx, pr.User, *pr.Auth, pr.IP, b, f)
	}
	u, err := s.currentUser(ctx, pr.User)
	if err != nil {
		return nil, err
	}
	if u.MustChangePassword {
		return nil, errMustChangePassword
	}
	return s.accessOf(ctx, u, pr.IP, b, f)
}

// accessOf computes u's access to f of b from ip, u as given (read
// already, or a stand-in for a role in a preview).
func (s *Service) accessOf(ctx context.Context, u *User, ip string, b *Bundle, f *Form) (*Access, error) {
	a, _, _, err := s.computeAccess(ctx, u, ip, b, f)
	return a, err
}

// computeAccess is accessOf, and how long its answer holds: until the
// first grant it rests on ends (zero: no grant), and not beyond this
// request when volatile (a role's access policy or a filter scope's $now
// made it depend on the request's time or address).
func (s *Service) computeAccess(ctx context.Context, u *User, ip string, b *Bundle, f *Form) (a *Access, until time.Time, volatile bool, err error) {
	if u.Admin {
		return adminAccess(f), time.Time{}, false, nil
	}
	if u.Auditor {
		return auditorAccess(), time.Time{}, false, nil
	}
	r := &accessResolver{s: s, ctx: ctx, u: u, f: f, a: &Access{Ops: map[string]bool{}, Fields: map[string]string{}}}
	now := s.now()
	if err := r.roles(b, now.In(s.zone), ip); err != nil {
		return nil, time.Time{}, false, err
	}
	if err := r.grants(b, now); err != nil {
		return nil, time.Time{}, false, err
	}
	r.finish()
	return r.a, r.until, r.volatile, nil
}

// currentUser reads u again from the store, so a freeze or a role change
// takes effect on the very next call on every node.
func (s *Service) currentUser(ctx context.Context, u *User) (*User, error) {
	if u.ID == SystemActor {
		return u, nil
	}
	fresh, err := s.org.FindUserByID(ctx, u.ID)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
		}
		return nil, err
	}
	if fresh.Frozen {
		return nil, errFrozen
	}
	return fresh, nil
}

var errFrozen = Errorf(ELOCKED, T("账号已冻结", "this account is frozen"))

// checkActive refuses a frozen user (ELOCKED) and one who must change
// their password first (EPASSWORDCHANGE).
func checkActive(u *User) error {
	switch {
	case u.Frozen:
		return errFrozen
	case u.MustChangePassword:
		return errMustChangePassword
	}
	return nil
}

// adminAccess is an administrator's access to f: everything.
func adminAccess(f *Form) *Access {
	a := &Access{Admin: true, All: true, Ops: map[string]bool{}, Fields: map[string]string{}}
	for _, op := range Operations() {
		a.Ops[op] = true
	}
	for _, fd := range f.Fields {
		a.Fields[fd.Key] = PermEdit
	}
	a.Trace = []AccessRule{{Source: "admin", Ops: Operations(), Scope: ScopeAll, Applies: true}}
	return a
}

// auditorAccess is a system auditor's access to any form: nothing. An
// auditor reads what audit events hold, never the records themselves, even
// if a role or grant names them by mistake.
func auditorAccess() *Access {
	return &Access{Ops: map[string]bool{}, Fields: map[string]string{},
		Trace: []AccessRule{{Source: "auditor", Applies: true, Reason: "auditors read the audit log, not records"}}}
}

// accessResolver adds up what a user's roles and grants give on one form.
type accessResolver struct {
	s    *Service
	ctx  context.Context
	u    *User
	f    *Form
	a    *Access
	vars *filter.Vars // the user's filter variables, read once when a scope needs them
	// until is when the first grant added ends; volatile is set when the
	// answer depends on the request's time or address (see computeAccess)
	until    time.Time
	volatile bool
}

// scope is the record filter of a data scope; all is true for every record.
func (r *accessResolver) scope(sc Scope) (e filter.Expr, all bool, err error) {
	switch sc.Kind {
	case ScopeAll:
		return nil, true, nil
	case ScopeOwn, "":
		return filter.Cmp{Field: sysField("_owner"), Op: filter.OpEq, Value: r.u.ID}, false, nil
	case ScopeUnit:
		return filter.Cmp{Field: sysField("_unit"), Op: filter.OpEq, Value: r.u.Unit}, false, nil
	case ScopeUnitAndBelow:
		below, err := r.s.org.UnitKeysBelow(r.ctx, r.u.Unit)
		if err != nil {
			return nil, false, err
		}
		vals := make([]any, len(below))
		for i, k := range below {
			vals[i] = k
		}
		return filter.Cmp{Field: sysField("_unit"), Op: filter.OpIn, Value: vals}, false, nil
	case ScopeFilter:
		r.volatile = r.volatile || mentionsNow(sc.Filter)
		e, err := parseRequestFilter(r.f, sc.Filter, func() (filter.Vars, error) {
			if r.vars == nil {
				v, err := r.s.filterVars(r.ctx, r.u)
				if err != nil {
					return filter.Vars{}, err
				}
				r.vars = &v
			}
			return *r.vars, nil
		})
		return e, false, err
	}
	return nil, false, Errorf(EINVALID, Tf("未知数据范围 %q", "unknown data scope %q", sc.Kind))
}

// add merges what one role or grant gives: its operations, its field
// permissions (the highest wins) and its scope.
func (r *accessResolver) add(rule AccessRule, ops []string, fields map[string]string, sc Scope, grant bool) error {
	a := r.a
	for _, op := range ops {
		a.Ops[op] = true
	}
	def := PermRead
	for _, op := range ops {
		if op == OpCreate || op == OpUpdate {
			def = PermEdit
		}
	}
	if grant { // a grant gives the fields it names, nothing more
		def = PermHidden
	}
	if d, ok := fields["*"]; ok {
		def = d
	}
	rule.Fields = map[string]string{}
	for _, fd := range r.f.Fields {
		perm := def
		if v, ok := fields[fd.Key]; ok {
			perm = v
		}
		rule.Fields[fd.Key] = perm
		if PermRank(perm) > PermRank(a.Fields[fd.Key]) || a.Fields[fd.Key] == "" {
			a.Fields[fd.Key] = perm
		}
	}
	e, all, err := r.scope(sc)
	if err != nil {
		return err
	}
	if all {
		a.All = true
	} else {
		a.Scopes = append(a.Scopes, e)
	}
	rule.scopeExp = e
	a.Trace = append(a.Trace, rule)
	return nil
}

// roles adds the user's roles in the app whose policy holds at t (in the
// organisation's zone) from ip; the others are traced and listed in
// PolicyDenied.
func (r *accessResolver) roles(b *Bundle, t time.Time, ip string) error {
	for _, rk := range r.u.Roles[b.App.Key] {
		role := b.Role(rk)
		if role == nil {
			continue
		}
		p := role.Permissions[r.f.Key]
		if p == nil {
			continue
		}
		rule := AccessRule{Source: "role:" + rk, Ops: p.Operations, Scope: scopeName(p.Scope), Applies: true}
		r.volatile = r.volatile || role.Policy != nil
		if ok, why := PolicyHolds(role.Policy, t, ip); !ok {
			rule.Applies, rule.Reason = false, why
			r.a.Trace = append(r.a.Trace, rule)
			r.a.PolicyDenied = append(r.a.PolicyDenied, rk+": "+why)
			continue
		}
		r.a.Roles = append(r.a.Roles, rk)
		if err := r.add(rule, p.Operations, p.Fields, p.Scope, false); err != nil {
			return err
		}
	}
	sort.Strings(r.a.Roles)
	return nil
}

// grants adds the user's temporary grants on the form unexpired at now.
func (r *accessResolver) grants(b *Bundle, now time.Time) error {
	grants, err := r.s.activeGrants(r.ctx, r.u.ID, b.App.Key, r.f.Key, now)
	if err != nil {
		return err
	}
	for _, g := range grants {
		exp := g.ExpiresAt
		if r.until.IsZero() || exp.Before(r.until) {
			r.until = exp
		}
		rule := AccessRule{Source: "grant:" + g.ID, Ops: g.Ops, Scope: g.Scope, Applies: true, Expires: &exp}
		r.a.Grants = append(r.a.Grants, g.ID)
		if err := r.add(rule, g.Ops, g.Fields, Scope{Kind: g.Scope}, true); err != nil {
			return err
		}
	}
	return nil
}

// finish hides every field nothing gave, and reads "masked" as hidden on
// fields that are not sensitive (masking applies to those only).
func (r *accessResolver) finish() {
	for _, fd := range r.f.Fields {
		if r.a.Fields[fd.Key] == "" {
			r.a.Fields[fd.Key] = PermHidden
		}
		if r.a.Fields[fd.Key] == PermMasked && fd.Sensitive == "" {
			r.a.Fields[fd.Key] = PermHidden
		}
	}
}

func scopeName(sc Scope) string {
	if sc.Kind == "" {
		return ScopeOwn
	}
	return sc.Kind
}

func sysField(k string) filter.Field {
	return filter.Field{Key: k, Type: filter.TypeString, System: true}
}

// filterVars are the filter variables for a user.
func (s *Service) filterVars(ctx context.Context, u *User) (filter.Vars, error) {
	below, err := s.org.UnitKeysBelow(ctx, u.Unit)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return filter.Vars{}, err
	}
	return filter.Vars{UserID: u.ID, Unit: u.Unit, UnitsBelow: below, Now: s.now()}, nil
}

// redact applies field permissions to data leaving the engine: hidden
// fields are dropped, masked ones replaced by their masked text. It is the
// one place masking happens.
func redact(f *Form, a *Access, data map[string]any) map[string]any {
	out := make(map[string]any, len(data))
	for k, v := range data {
		if v, ok := redactField(f, a, k, v); ok {
			out[k] = v
		}
	}
	return out
}

// redactField is what redact keeps of field k's value v: ok is false when
// the field is hidden or not in the form.
func redactField(f *Form, a *Access, k string, v any) (any, bool) {
	fd := f.Field(k)
	if fd == nil {
		return nil, false
	}
	switch a.Field(k) {
	case PermEdit, PermRead:
		return v, true
	case PermMasked:
		return Mask(fd.Sensitive, v), true
	}
	return nil, false
}

// redactChanges applies field permissions to a revision's changes.
func redactChanges(f *Form, a *Access, cs []FieldChange) []FieldChange {
	out := make([]FieldChange, 0, len(cs))
	for _, c := range cs {
		fd := f.Field(c.Field)
		if fd == nil {
			continue
		}
		switch a.Field(c.Field) {
		case PermEdit, PermRead:
			out = append(out, c)
		case PermMasked:
			out = append(out, FieldChange{Field: c.Field, Before: Mask(fd.Sensitive, c.Before), After: Mask(fd.Sensitive, c.After)})
		}
	}
	return out
}

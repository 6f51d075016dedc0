package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// KindGrant is the doc kind of temporary grants.
const KindGrant = "grant"

// JobGrantExpire is the outbox job that revokes a grant at its expiry.
const JobGrantExpire = "grant:expire"

// MaxGrantDuration bounds how long a temporary grant may last.
const MaxGrantDuration = 30 * 24 * time.Hour

// Grant is a temporary grant: more access for one user on one form of one
// app, for a reason, until ExpiresAt. It is unioned with the user's roles
// while unexpired (checked at read time) and revoked by a scheduled job at
// expiry. Fields name the field permissions it gives (unlisted fields gain
// nothing); Scope is the data scope its operations and fields apply to.
type Grant struct {
	ID        string            `json:"id"`
	User      string            `json:"user"`
	App       string            `json:"app"`
	Form      string            `json:"form"`
	Ops       []string          `json:"operations,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"`
	Scope     string            `json:"scope"` // own, unit, unit_and_below, all
	Reason    string            `json:"reason"`
	GrantedBy string            `json:"granted_by"`
	CreatedAt time.Time         `json:"created_at"`
	ExpiresAt time.Time         `json:"expires_at"`
	RevokedAt *time.Time        `json:"revoked_at,omitempty"`
	RevokedBy string            `json:"revoked_by,omitempty"`
}

// Active reports whether the grant applies at now.
func (g *Grant) Active(now time.Time) bool {
	return g.RevokedAt == nil && now.Before(g.ExpiresAt)
}

// NewGrant is the input of CreateGrant.
type NewGrant struct {
	User      string // user id or email
	App       string
	Form      string
	Ops       []string
	Fields    map[string]string
	Scope     string // default own
	Reason    string
	ExpiresAt time.Time
}

func grantTag(user, app string) string { return "user:" + user + "|" + app }

// CreateGrant gives a user temporary access (administrators only, until
// approvals grant it through the workflow engine). It writes the grant, its
// audit event and the job that revokes it at expiry in one change.
func (s *Service) CreateGrant(ctx context.Context, p *Principal, in NewGrant) (*Grant, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "grant.create", in.App, in.Form, in.User, "not an administrator", err)
	}
	u, err := s.findUserRef(ctx, in.User)
	if err != nil {
		return nil, err
	}
	b, _, err := s.Bundle(ctx, in.App, 0)
	if err != nil {
		return nil, err
	}
	f := b.Form(in.Form)
	if f == nil {
		return nil, notFoundForm(in.App, in.Form)
	}
	now := s.now()
	var bad []FieldError
	if in.Reason == "" {
		bad = append(bad, FieldError{Field: "/reason", Code: "required", Message: T("请说明理由", "give a reason")})
	}
	if !in.ExpiresAt.After(now) || in.ExpiresAt.Sub(now) > MaxGrantDuration {
		bad = append(bad, FieldError{Field: "/expires_at", Code: "range", Message: T("到期时间须在未来 30 天内", "the expiry must lie within the next 30 days")})
	}
	for _, op := range in.Ops {
		if !slices.Contains(Operations(), op) {
			bad = append(bad, FieldError{Field: "/operations", Code: "enum", Message: Tf("未知操作 %q", "unknown operation %q", op)})
		}
	}
	for k, perm := range in.Fields {
		if k != "*" && f.Field(k) == nil {
			bad = append(bad, FieldError{Field: "/fields/" + k, Code: "unknown_field", Message: Tf("表单中没有字段 %q", "the form has no field %q", k)})
		}
		if PermRank(perm) == 0 && perm != PermHidden {
			bad = append(bad, FieldError{Field: "/fields/" + k, Code: "enum", Message: Tf("未知权限 %q", "unknown permission %q", perm)})
		}
	}
	if in.Scope == "" {
		in.Scope = ScopeOwn
	}
	if !slices.Contains([]string{ScopeOwn, ScopeUnit, ScopeUnitAndBelow, ScopeAll}, in.Scope) {
		bad = append(bad, FieldError{Field: "/scope", Code: "enum", Message: Tf("未知数据范围 %q", "unknown data scope %q", in.Scope)})
	}
	if len(in.Ops) == 0 && len(in.Fields) == 0 {
		bad = append(bad, FieldError{Field: "/operations", Code: "required", Message: T("授权须包含操作或字段权限", "a grant needs operations or field permissions")})
	}
	if len(bad) > 0 {
		return nil, Invalid(bad...)
	}
	g := &Grant{ID: NewID(now), User: u.ID, App: in.App, Form: in.Form, Ops: in.Ops, Fields: in.Fields, Scope: in.Scope, Reason: in.Reason,
		GrantedBy: p.Actor(), CreatedAt: now, ExpiresAt: in.ExpiresAt.UTC()}
	ev := s.Event(p, "grant.create", in.App, in.Form, u.ID, slices.Sorted(maps.Keys(in.Fields)), ResultOK, in.Reason)
	ev.Detail = MustJSON(g)
	ch := &Change{
		Docs: []DocWrite{{Doc: Doc{Kind: KindGrant, ID: g.ID, Tags: []string{grantTag(u.ID, in.App), "user:" + u.ID}, Value: MustJSON(g)}},
			bumpAuthEpoch(authEpochGrants(u.ID), now)},
		Audit:  []*AuditEvent{ev},
		Outbox: []OutboxJob{{ID: "grant-expire-" + g.ID, Type: JobGrantExpire, Payload: MustJSON(map[string]string{"grant": g.ID}), RunAt: g.ExpiresAt, CreatedAt: now}},
	}
	if _, err := s.store.Apply(ctx, ch); err != nil {
		return nil, err
	}
	return g, nil
}

// findUserRef finds a user by id or email.
func (s *Service) findUserRef(ctx context.Context, ref string) (*User, error) {
	u, err := s.org.FindUserByID(ctx, ref)
	if err == nil {
		return u, nil
	}
	if ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	return s.org.FindUserByEmail(ctx, ref)
}

func (s *Service) findGrant(ctx context.Context, id string) (*Grant, int64, error) {
	return findDocAs[Grant](ctx, s.store, KindGrant, id)
}

// RevokeGrant ends a grant now (administrators only).
func (s *Service) RevokeGrant(ctx context.Context, p *Principal, id string) error {
	if err := requireAdmin(p); err != nil {
		return s.deny(ctx, p, "grant.revoke", "", "", id, "not an administrator", err)
	}
	return s.revokeGrant(ctx, p, id, "grant.revoke")
}

func (s *Service) revokeGrant(ctx context.Context, p *Principal, id, action string) error {
	g, ver, err := s.findGrant(ctx, id)
	if err != nil {
		return err
	}
	if g.RevokedAt != nil {
		return nil // idempotent: the job may run twice
	}
	now := s.now()
	g.RevokedAt, g.RevokedBy = &now, p.Actor()
	_, err = s.store.Apply(ctx, &Change{
		Docs: []DocWrite{{Doc: Doc{Kind: KindGrant, ID: g.ID, Tags: []string{grantTag(g.User, g.App), "user:" + g.User}, Value: MustJSON(g)}, ExpectVersion: ver},
			bumpAuthEpoch(authEpochGrants(g.User), now)},
		Audit: []*AuditEvent{s.Event(p, action, g.App, g.Form, g.User, nil, ResultOK, g.ID)},
	})
	return err
}

// HandleGrantExpireJob is the JobHandler of JobGrantExpire: it revokes
// the grant (idempotent). Register it with the worker.
func (s *Service) HandleGrantExpireJob(ctx context.Context, job OutboxJob) error {
	var pl struct {
		Grant string `json:"grant"`
	}
	if err := json.Unmarshal(job.Payload, &pl); err != nil {
		return fmt.Errorf("grant expire job %s: %w", job.ID, err)
	}
	err := s.revokeGrant(ctx, nil, pl.Grant, "grant.expire")
	if ErrorCode(err) == ENOTFOUND {
		return nil
	}
	return err
}

// ListGrants lists grants, of one user when user is not empty (administrators only).
func (s *Service) ListGrants(ctx context.Context, p *Principal, user string) ([]*Grant, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "grant.list", "", "", user, "not an administrator", err)
	}
	q := DocQuery{Kind: KindGrant}
	if user != "" {
		u, err := s.findUserRef(ctx, user)
		if err != nil {
			return nil, err
		}
		q.Tag = "user:" + u.ID
	}
	docs, err := s.store.FindDocs(ctx, q)
	if err != nil {
		return nil, err
	}
	return decodeEach[Grant](docs, nil), nil
}

// activeGrants returns a user's grants on a form that apply at now.
func (s *Service) activeGrants(ctx context.Context, user, app, form string, now time.Time) ([]*Grant, error) {
	docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindGrant, Tag: grantTag(user, app)})
	if err != nil {
		return nil, fmt.Errorf("grants: %w", err)
	}
	return decodeEach(docs, func(g *Grant) bool { return g.Form == form && g.Active(now) }), nil
}

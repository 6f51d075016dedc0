package engine

import (
	"context"
	"slices"
	"sort"
	"strings"
)

// AdminApp is an app as the access administration sees it: its roles (to
// assign) and its forms with their fields (to explain and grant on).
type AdminApp struct {
	Key   string       `json:"key"`
	Name  Text         `json:"name"`
	Roles []*AdminRole `json:"roles"`
	Forms []*AdminForm `json:"forms"`
}

// AdminRole is one role of an app.
type AdminRole struct {
	Key  string `json:"key"`
	Name Text   `json:"name"`
	MFA  bool   `json:"mfa,omitempty"`
}

// AdminForm is one form of an app with its field keys and labels.
type AdminForm struct {
	Key    string       `json:"key"`
	Title  Text         `json:"title"`
	Fields []AdminField `json:"fields"`
}

// AdminField is one field of a form.
type AdminField struct {
	Key   string `json:"key"`
	Label Text   `json:"label"`
}

func principalActor(p *Principal) AuditActor {
	a := AuditActor{ID: p.Actor()}
	if p != nil {
		a.IP = p.IP
	}
	return a
}

// AdminApps lists every app's roles and forms, by app key (administrators,
// and auditors, whose filters and explain pick forms from it).
func (s *Service) AdminApps(ctx context.Context, p *Principal) ([]*AdminApp, error) {
	if err := requireAuditor(p); err != nil {
		return nil, s.deny(ctx, p, "admin.apps", "", "", "", "not an administrator", err)
	}
	var out []*AdminApp
	err := s.eachApp(ctx, func(a *appDoc, b *Bundle) error {
		aa := &AdminApp{Key: a.Key, Name: a.Name}
		for _, r := range b.Roles {
			aa.Roles = append(aa.Roles, &AdminRole{Key: r.Key, Name: r.Name, MFA: r.MFA})
		}
		for _, f := range b.Forms {
			af := &AdminForm{Key: f.Key, Title: f.Title}
			for _, fd := range f.Fields {
				af.Fields = append(af.Fields, AdminField{Key: fd.Key, Label: fd.LabelOr()})
			}
			aa.Forms = append(aa.Forms, af)
		}
		out = append(out, aa)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// SetUserAppRoles replaces the roles a user holds in one app with roles,
// each of which the app must define (administrators only). An empty list
// removes the user from the app. EINVALID for a role the app lacks,
// ENOTFOUND for an unknown user or app.
func (s *Service) SetUserAppRoles(ctx context.Context, p *Principal, userRef, app string, roles []string) (*User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "user.roles", app, "", userRef, "not an administrator", err)
	}
	u, err := s.findUserRef(ctx, userRef)
	if err != nil {
		return nil, err
	}
	b, _, err := s.Bundle(ctx, app, 0)
	if err != nil {
		return nil, err
	}
	var bad []FieldError
	roles = slices.Compact(slices.Sorted(slices.Values(roles)))
	for _, r := range roles {
		if b.Role(r) == nil {
			bad = append(bad, FieldError{Field: "/roles/" + app, Code: "unknown_role", Message: Tf("应用 %s 没有角色 %q", "the app %s has no role %q", app, r)})
		}
	}
	if len(bad) > 0 {
		return nil, Invalid(bad...)
	}
	all := cloneRoles(u.Roles)
	if all == nil {
		all = map[string][]string{}
	}
	if len(roles) == 0 {
		delete(all, app)
	} else {
		all[app] = roles
	}
	return s.org.SetRoles(ctx, principalActor(p), u.ID, all)
}

// SetUserUnit moves a user to another unit (administrators only).
func (s *Service) SetUserUnit(ctx context.Context, p *Principal, userRef, unit string) (*User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "user.unit", "", "", userRef, "not an administrator", err)
	}
	u, err := s.findUserRef(ctx, userRef)
	if err != nil {
		return nil, err
	}
	return s.org.SetUnit(ctx, principalActor(p), u.ID, unit)
}

// FreezeUser freezes a user at once (administrators only); an
// administrator may not freeze themselves.
func (s *Service) FreezeUser(ctx context.Context, p *Principal, userRef string) (*User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "user.freeze", "", "", userRef, "not an administrator", err)
	}
	u, err := s.findUserRef(ctx, userRef)
	if err != nil {
		return nil, err
	}
	if u.ID == p.User.ID {
		return nil, Invalid(FieldError{Field: "/user", Code: "self", Message: T("不能冻结自己", "you cannot freeze yourself")})
	}
	return s.org.Freeze(ctx, principalActor(p), u.ID)
}

// UnfreezeUser lets a frozen user sign in again (administrators only).
func (s *Service) UnfreezeUser(ctx context.Context, p *Principal, userRef string) (*User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "user.unfreeze", "", "", userRef, "not an administrator", err)
	}
	u, err := s.findUserRef(ctx, userRef)
	if err != nil {
		return nil, err
	}
	return s.org.Unfreeze(ctx, principalActor(p), u.ID)
}

// CreateUnit adds an organisation unit (administrators only). EINVALID
// for a bad key or name or an unknown parent, ECONFLICT for a taken key.
func (s *Service) CreateUnit(ctx context.Context, p *Principal, u Unit) (*Unit, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "unit.create", "", "", u.Key, "not an administrator", err)
	}
	return s.org.CreateUnit(ctx, principalActor(p), u)
}

// SetUnitHead makes a user the head of a unit (administrators only);
// headRef is their id or email, "" clears the head. EINVALID (field
// "/head") for an email nobody has.
func (s *Service) SetUnitHead(ctx context.Context, p *Principal, unit, headRef string) (*Unit, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "unit.head", "", "", unit, "not an administrator", err)
	}
	id := strings.TrimSpace(headRef)
	if strings.Contains(id, "@") {
		u, err := s.org.FindUserByEmail(ctx, id)
		if err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return nil, Invalid(FieldError{Field: "/head", Code: "not_found", Message: Tf("用户 %s 不存在", "no user has the email %s", id)})
			}
			return nil, err
		}
		id = u.ID
	}
	return s.org.UpdateUnitHead(ctx, principalActor(p), unit, id)
}

// CreateUser adds a user (administrators only). EINVALID for a bad email,
// name, unit or password, ECONFLICT for a taken email.
func (s *Service) CreateUser(ctx context.Context, p *Principal, nu NewUser) (*User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "user.create", "", "", nu.Email, "not an administrator", err)
	}
	return s.org.CreateUser(ctx, principalActor(p), nu)
}

// Units lists the organisation's units in tree order (administrators, and
// auditors, whose chart names them).
func (s *Service) Units(ctx context.Context, p *Principal) ([]*Unit, error) {
	if err := requireAuditor(p); err != nil {
		return nil, s.deny(ctx, p, "admin.units", "", "", "", "not an administrator", err)
	}
	return s.org.ListUnits(ctx)
}

// Users lists every user, frozen ones included (administrators, and
// auditors, who pick people to audit from it).
func (s *Service) Users(ctx context.Context, p *Principal) ([]*User, error) {
	if err := requireAuditor(p); err != nil {
		return nil, s.deny(ctx, p, "admin.users", "", "", "", "not an administrator or auditor", err)
	}
	return s.org.ListUsers(ctx, "")
}

// User returns one user by id or email (administrators only). ENOTFOUND
// when nobody has it.
func (s *Service) User(ctx context.Context, p *Principal, userRef string) (*User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "admin.user", "", "", userRef, "not an administrator", err)
	}
	return s.findUserRef(ctx, userRef)
}

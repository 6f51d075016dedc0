package engine

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// KindAppDesigners holds, per app, the users an administrator named
// designers of it (doc ID = app key).
const KindAppDesigners = "app_designers"

type appDesignersDoc struct {
	App       string    `json:"app"`
	Users     []string  `json:"users"` // user ids
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// AuthorizeDesign answers whether p may design app: system administrators
// and the users an administrator named designers of it may. A denial is
// audited as action; the error is EUNAUTHORIZED without a user, EFORBIDDEN
// otherwise. Every designer operation (drafts, diff, publish, versions)
// goes through it.
func (s *Service) AuthorizeDesign(ctx context.Context, p *Principal, app, action string) error {
	if p == nil || p.User == nil {
		return s.deny(ctx, p, action, app, "", app, "not logged in", Errorf(EUNAUTHORIZED, T("请先登录", "please log in")))
	}
	if err := CheckTokenApp(p, app); err != nil {
		return s.deny(ctx, p, action, app, "", app, "personal token limited to other apps", err)
	}
	if p.User.Admin {
		return nil
	}
	if p.User.Auditor {
		return s.deny(ctx, p, action, app, "", app, "auditors change nothing", Errorf(EFORBIDDEN, T("审计员不能修改应用", "auditors cannot change apps")))
	}
	d, _, err := findDocAs[appDesignersDoc](ctx, s.store, KindAppDesigners, app)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return err
	}
	if d != nil && slices.Contains(d.Users, p.User.ID) {
		return nil
	}
	return s.deny(ctx, p, action, app, "", app, "not a designer of the app",
		Errorf(EFORBIDDEN, T("只有系统管理员和该应用的设计者可以设计应用", "only administrators and the app's designers may design it")))
}

// SetAppDesigners names the users (ids or emails) who may design app,
// replacing the previous list (administrators only). EINVALID with a
// pointer per unknown user ("/0" is the first); audited as app.designers.
func (s *Service) SetAppDesigners(ctx context.Context, p *Principal, app string, userRefs []string) error {
	if err := requireAdmin(p); err != nil {
		return s.deny(ctx, p, "app.designers", app, "", app, "not an administrator", err)
	}
	if !KeyPattern.MatchString(app) {
		return Invalid(FieldError{Field: "/app", Code: "pattern", Message: T("应用键只能包含小写字母、数字和下划线，并以字母开头", "an app key has lowercase letters, digits and _, starting with a letter")})
	}
	ids := []string{}
	var bad []FieldError
	for i, ref := range userRefs {
		u, err := s.findUserRef(ctx, ref)
		if err != nil {
			if ErrorCode(err) != ENOTFOUND {
				return err
			}
			bad = append(bad, FieldError{Field: fmt.Sprintf("/%d", i), Code: "unknown_user", Message: Tf("用户 %q 不存在", "there is no user %q", ref)})
			continue
		}
		if !slices.Contains(ids, u.ID) {
			ids = append(ids, u.ID)
		}
	}
	if len(bad) > 0 {
		return Invalid(bad...)
	}
	ev := s.Event(p, "app.designers", app, "", app, ids, ResultOK, "")
	doc := appDesignersDoc{App: app, Users: ids, UpdatedAt: ev.Time, UpdatedBy: p.Actor()}
	_, err := s.store.Apply(ctx, &Change{
		Docs:  []DocWrite{{Doc: Doc{Kind: KindAppDesigners, ID: app, Value: MustJSON(doc)}, ExpectVersion: AnyVersion}},
		Audit: []*AuditEvent{ev},
	})
	return err
}

// AppDesigners returns the ids of the users named designers of app, for
// those who may design it (see AuthorizeDesign).
func (s *Service) AppDesigners(ctx context.Context, p *Principal, app string) ([]string, error) {
	if err := s.AuthorizeDesign(ctx, p, app, "app.designers.read"); err != nil {
		return nil, err
	}
	d, _, err := findDocAs[appDesignersDoc](ctx, s.store, KindAppDesigners, app)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return []string{}, nil
		}
		return nil, err
	}
	return d.Users, nil
}

// DesignableApps answers which apps p may design, writing nothing: all is
// true for a system administrator (every app, published or still a
// draft); otherwise apps are those an administrator named p a designer
// of. EUNAUTHORIZED without a user.
func (s *Service) DesignableApps(ctx context.Context, p *Principal) (all bool, apps []string, err error) {
	if p == nil || p.User == nil {
		return false, nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	if p.User.Admin {
		return true, nil, nil
	}
	if p.User.Auditor {
		return false, nil, nil
	}
	docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindAppDesigners})
	if err != nil {
		return false, nil, fmt.Errorf("designable apps: %w", err)
	}
	for _, d := range decodeEach[appDesignersDoc](docs, nil) {
		if slices.Contains(d.Users, p.User.ID) {
			apps = append(apps, d.App)
		}
	}
	return false, apps, nil
}

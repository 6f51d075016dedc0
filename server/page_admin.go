package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// bindAdminPages binds the admin pages (units, users, role assignments,
// grants, explain) under /admin. Every route needs an administrator
// (requireAdmin, 403 page otherwise), and every engine call behind them
// checks it again.
func (s *server) bindAdminPages(e *echo.Echo, admin []echo.MiddlewareFunc) {
	e.GET("/admin", s.adminOverview, admin...)
	e.GET("/admin/units", s.adminUnits, admin...)
	e.POST("/admin/units", s.adminCreateUnit, admin...)
	e.POST("/admin/units/:key/head", s.adminUnitHead, admin...)
	e.GET("/admin/users", s.adminUsers, admin...)
	e.POST("/admin/users", s.adminCreateUser, admin...)
	e.GET("/admin/users/:id", s.adminUser, admin...)
	e.POST("/admin/users/:id/unit", s.adminUserUnit, admin...)
	e.POST("/admin/users/:id/roles", s.adminUserRoles, admin...)
	e.POST("/admin/users/:id/freeze", s.adminUserFreeze, admin...)
	e.POST("/admin/users/:id/unfreeze", s.adminUserUnfreeze, admin...)
	e.POST("/admin/users/:id/reassign", s.adminUserReassign, admin...)
	e.POST("/admin/users/:id/tasks/reassign", s.adminUserTasks, admin...)
	e.POST("/admin/users/:id/mfa/reset", s.adminUserMFAReset, admin...)
	e.GET("/admin/grants", s.adminGrants, admin...)
	e.GET("/admin/backups", s.adminBackups, admin...)
	e.POST("/admin/grants", s.adminCreateGrant, admin...)
	e.POST("/admin/grants/:id/revoke", s.adminRevokeGrant, admin...)
}

// adminPage fills the layout of an admin page with its assets.
func (s *server) adminPage(c echo.Context, titleKey, nav string) (web.Page, web.AdminNav) {
	p := s.page(c, web.Msg(pageLang(c), titleKey))
	p.Styles = append(p.Styles, "admin.css")
	p.Scripts = append(p.Scripts, "admin.js")
	if ok := c.QueryParam("ok"); ok != "" && strings.HasPrefix(ok, "admin.") {
		p.Flash = web.Msg(p.Lang, ok)
	}
	return p, web.AdminNav{Current: nav, Auditor: p.User != nil && !p.User.Admin}
}

// formError reports whether err is the user's mistake (shown on the page
// again, with its status) rather than a failure (the error page).
func formError(err error) bool {
	switch engine.ErrorCode(err) {
	case engine.EINVALID, engine.ECONFLICT, engine.ENOTFOUND, engine.EBADREQUEST:
		return true
	}
	return false
}

// errText is an error's message with its field messages, in lang.
func errText(err error, lang string) string {
	msg := engine.ErrorMessage(err, lang)
	for _, f := range engine.ErrorFields(err) {
		m := f.Message.In(lang)
		if m != "" && !strings.Contains(msg, m) {
			msg += "；" + m
		}
	}
	return msg
}

func (s *server) adminOverview(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	pg, nav := s.adminPage(c, "admin.title", "overview")
	v := web.AdminOverviewPage{Page: pg, AdminNav: nav}
	units, err := s.svc.Units(ctx, p)
	if err != nil {
		return err
	}
	users, err := s.svc.Users(ctx, p)
	if err != nil {
		return err
	}
	v.Units, v.Users = len(units), len(users)
	for _, u := range users {
		if u.Frozen {
			v.Frozen++
		}
		if u.Admin {
			v.Admins++
		}
	}
	grants, err := s.svc.ListGrants(ctx, p, "")
	if err != nil {
		return err
	}
	now := s.svc.Now()
	for _, g := range grants {
		if g.Active(now) {
			v.ActiveGrants++
		}
	}
	apps, err := s.svc.AdminApps(ctx, p)
	if err != nil {
		return err
	}
	v.Apps = len(apps)
	mfa, err := s.svc.MFAEnrolled(ctx, p)
	if err != nil {
		return err
	}
	v.MFAEnrolled = len(mfa)
	return Render(c, http.StatusOK, web.AdminOverviewView(v))
}

// ---- units ----

func (s *server) adminUnits(c echo.Context) error {
	return s.renderUnits(c, http.StatusOK, "", web.AdminUnitForm{})
}

func (s *server) renderUnits(c echo.Context, status int, msg string, form web.AdminUnitForm) error {
	ctx := c.Request().Context()
	pg, nav := s.adminPage(c, "admin.units.title", "units")
	v := web.AdminUnitsPage{Page: pg, AdminNav: nav, Error: msg, Form: form}
	units, err := s.svc.Units(ctx, principal(c))
	if err != nil {
		return err
	}
	users, err := s.svc.Users(ctx, principal(c))
	if err != nil {
		return err
	}
	members := map[string]int{}
	names := map[string]string{}
	for _, u := range users {
		members[u.Unit]++
		names[u.ID] = u.Name
		if !u.Frozen {
			v.Users = append(v.Users, web.Choice{Value: u.ID, Label: u.Name + " <" + u.Email + ">"})
		}
	}
	sortChoices(v.Users)
	children := map[string]int{}
	for _, u := range units {
		children[u.Parent]++
	}
	for _, u := range units {
		v.Units = append(v.Units, web.AdminUnit{Key: u.Key, Name: u.Name.In(pg.Lang), Depth: len(u.Path), Head: names[u.Head], HeadID: u.Head,
			Children: children[u.Key], Members: members[u.Key]})
	}
	return Render(c, status, web.AdminUnitsView(v))
}

func (s *server) adminCreateUnit(c echo.Context) error {
	form := web.AdminUnitForm{Key: strings.TrimSpace(c.FormValue("key")), NameZh: strings.TrimSpace(c.FormValue("name_zh")),
		NameEn: strings.TrimSpace(c.FormValue("name_en")), Parent: c.FormValue("parent")}
	name := engine.T(form.NameZh, form.NameEn)
	if form.NameZh == "" {
		name = engine.T(form.NameEn, form.NameEn)
	} else if form.NameEn == "" {
		name = engine.T(form.NameZh, form.NameZh)
	}
	_, err := s.svc.CreateUnit(c.Request().Context(), principal(c), engine.Unit{Key: form.Key, Name: name, Parent: form.Parent})
	if err != nil {
		if formError(err) {
			return s.renderUnits(c, statusOf(engine.ErrorCode(err)), errText(err, pageLang(c)), form)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/units?ok=admin.units.created")
}

func (s *server) adminUnitHead(c echo.Context) error {
	_, err := s.svc.SetUnitHead(c.Request().Context(), principal(c), c.Param("key"), c.FormValue("head"))
	if err != nil {
		if formError(err) {
			return s.renderUnits(c, statusOf(engine.ErrorCode(err)), errText(err, pageLang(c)), web.AdminUnitForm{})
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/units?ok=admin.units.head_set")
}

func sortChoices(cs []web.Choice) {
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Label < cs[j].Label })
}

// unitChoices lists the units for a select, indented by depth.
func (s *server) unitChoices(c echo.Context, lang string) ([]web.Choice, map[string]string, error) {
	units, err := s.svc.Units(c.Request().Context(), principal(c))
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	out := make([]web.Choice, 0, len(units))
	for _, u := range units {
		names[u.Key] = u.Name.In(lang)
		out = append(out, web.Choice{Value: u.Key, Label: strings.Repeat("\u3000", len(u.Path)) + u.Name.In(lang)})
	}
	return out, names, nil
}

// ---- users ----

func (s *server) adminUsers(c echo.Context) error {
	return s.renderUsers(c, http.StatusOK, "", web.AdminUserForm{})
}

// rolesText names a user's roles as staff know them, app by app
// ("客户管理：销售代表、店长"); a key an app no longer defines shows as itself.
func rolesText(roles map[string][]string, apps []*engine.AdminApp, lang string) string {
	sep, list, join := "：", "、", "；"
	if lang == web.LangEn {
		sep, list, join = ": ", ", ", "; "
	}
	var parts []string
	seen := map[string]bool{}
	name := func(a *engine.AdminApp, key string) string {
		for _, r := range a.Roles {
			if r.Key == key && !r.Name.IsZero() {
				return r.Name.In(lang)
			}
		}
		return key
	}
	add := func(a *engine.AdminApp, app string) {
		if len(roles[app]) == 0 {
			return
		}
		names := make([]string, 0, len(roles[app]))
		for _, k := range roles[app] {
			names = append(names, name(a, k))
		}
		parts = append(parts, a.Name.In(lang)+sep+strings.Join(names, list))
	}
	for _, a := range apps { // apps come sorted by key
		seen[a.Key] = true
		add(a, a.Key)
	}
	var gone []string
	for a := range roles {
		if !seen[a] {
			gone = append(gone, a)
		}
	}
	sort.Strings(gone)
	for _, a := range gone {
		add(&engine.AdminApp{Key: a, Name: engine.T(a, a)}, a)
	}
	return strings.Join(parts, join)
}

func (s *server) renderUsers(c echo.Context, status int, msg string, form web.AdminUserForm) error {
	ctx := c.Request().Context()
	pg, nav := s.adminPage(c, "admin.users.title", "users")
	q := strings.TrimSpace(c.QueryParam("q"))
	v := web.AdminUsersPage{Page: pg, AdminNav: nav, Query: q, Error: msg, Form: form}
	var names map[string]string
	var err error
	if v.Units, names, err = s.unitChoices(c, pg.Lang); err != nil {
		return err
	}
	users, err := s.svc.Users(ctx, principal(c))
	if err != nil {
		return err
	}
	apps, err := s.svc.AdminApps(ctx, principal(c))
	if err != nil {
		return err
	}
	lq := strings.ToLower(q)
	for _, u := range users {
		if lq != "" && !strings.Contains(strings.ToLower(u.Name), lq) && !strings.Contains(u.Email, lq) {
			continue
		}
		unit := names[u.Unit]
		if unit == "" {
			unit = u.Unit
		}
		v.Users = append(v.Users, web.AdminUserRow{ID: u.ID, Name: u.Name, Email: u.Email, Unit: unit, Roles: rolesText(u.Roles, apps, pg.Lang),
			Admin: u.Admin, Auditor: u.Auditor, Frozen: u.Frozen, URL: "/admin/users/" + url.PathEscape(u.ID)})
	}
	sort.SliceStable(v.Users, func(i, j int) bool { return v.Users[i].Email < v.Users[j].Email })
	return Render(c, status, web.AdminUsersView(v))
}

func (s *server) adminCreateUser(c echo.Context) error {
	form := web.AdminUserForm{Email: strings.TrimSpace(c.FormValue("email")), Name: strings.TrimSpace(c.FormValue("name")),
		Unit: c.FormValue("unit"), Admin: c.FormValue("admin") != "", Auditor: c.FormValue("auditor") != ""}
	u, err := s.svc.CreateUser(c.Request().Context(), principal(c), engine.NewUser{Email: form.Email, Name: form.Name, Unit: form.Unit,
		Admin: form.Admin, Auditor: form.Auditor, Password: c.FormValue("password")})
	if err != nil {
		if formError(err) {
			return s.renderUsers(c, statusOf(engine.ErrorCode(err)), errText(err, pageLang(c)), form)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users/"+url.PathEscape(u.ID)+"?ok=admin.user.saved")
}

func (s *server) adminUser(c echo.Context) error {
	return s.renderUser(c, http.StatusOK, "")
}

func (s *server) renderUser(c echo.Context, status int, msg string) error {
	return s.renderUserFlash(c, status, msg, "")
}

// renderUserFlash draws a user's page with an error (msg) or a report
// (flash) at the top.
func (s *server) renderUserFlash(c echo.Context, status int, msg, flash string) error {
	return s.renderUserWith(c, status, func(v *web.AdminUserPage) {
		v.Error = msg
		if flash != "" {
			v.Flash = flash
		}
	})
}

// renderUserWith draws a user's page after edit has added what the action
// just did to it.
func (s *server) renderUserWith(c echo.Context, status int, edit func(v *web.AdminUserPage)) error {
	ctx := c.Request().Context()
	p := principal(c)
	u, err := s.svc.User(ctx, p, c.Param("id"))
	if err != nil {
		return err
	}
	pg, nav := s.adminPage(c, "admin.users.title", "users")
	pg.Title = u.Name
	v := web.AdminUserPage{Page: pg, AdminNav: nav, ID: u.ID, Name: u.Name, Email: u.Email, Unit: u.Unit, Admin: u.Admin, Auditor: u.Auditor, Frozen: u.Frozen,
		StatusURL: "/api/v1/users/" + url.PathEscape(u.ID) + "/reassign"}
	if v.Units, _, err = s.unitChoices(c, pg.Lang); err != nil {
		return err
	}
	apps, err := s.svc.AdminApps(ctx, p)
	if err != nil {
		return err
	}
	for _, a := range apps {
		ua := web.AdminUserApp{Key: a.Key, Name: a.Name.In(pg.Lang)}
		for _, r := range a.Roles {
			ua.Roles = append(ua.Roles, web.AdminRoleChoice{Key: r.Key, Name: r.Name.In(pg.Lang), ID: "role-" + a.Key + "-" + r.Key, MFA: r.MFA,
				Held: slices.Contains(u.Roles[a.Key], r.Key)})
		}
		v.Apps = append(v.Apps, ua)
	}
	mfa, err := s.svc.MFAEnrolled(ctx, p)
	if err != nil {
		return err
	}
	v.MFA = mfa[u.ID]
	if v.Owned, err = s.svc.CountOwnedRecords(ctx, p, u.ID); err != nil {
		return err
	}
	if s.wf != nil {
		v.TasksEnabled = true
		if v.OpenTasks, err = s.wf.UserOpenTaskCount(ctx, p, u.ID); err != nil {
			return err
		}
	}
	users, err := s.svc.Users(ctx, p)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, o := range users {
		names[o.ID] = o.Name
		if o.ID != u.ID && !o.Frozen {
			v.Heirs = append(v.Heirs, web.Choice{Value: o.ID, Label: o.Name + " <" + o.Email + ">"})
		}
	}
	sortChoices(v.Heirs)
	r, err := s.svc.LatestReassignment(ctx, p, u.ID)
	if err != nil {
		return err
	}
	if r != nil {
		v.Reassign = &web.AdminReassign{ID: r.ID, To: names[r.To], Status: r.Status, Moved: r.Moved, Total: r.Total, Percent: r.Percent(), Done: r.Status == engine.ReassignDone}
	}
	edit(&v)
	return Render(c, status, web.AdminUserView(v))
}

// userAction runs an admin action on the user of the path and goes back
// to their page, with the engine's refusal shown there.
func (s *server) userAction(c echo.Context, ok string, fn func(ctx context.Context, p *engine.Principal, id string) error) error {
	if err := fn(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		if formError(err) && engine.ErrorCode(err) != engine.ENOTFOUND {
			return s.renderUser(c, statusOf(engine.ErrorCode(err)), errText(err, pageLang(c)))
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users/"+url.PathEscape(c.Param("id"))+"?ok="+ok)
}

func (s *server) adminUserUnit(c echo.Context) error {
	return s.userAction(c, "admin.user.saved", func(ctx context.Context, p *engine.Principal, id string) error {
		_, err := s.svc.SetUserUnit(ctx, p, id, c.FormValue("unit"))
		return err
	})
}

func (s *server) adminUserRoles(c echo.Context) error {
	return s.userAction(c, "admin.user.saved", func(ctx context.Context, p *engine.Principal, id string) error {
		vals, err := c.FormParams()
		if err != nil {
			return badRequest(engine.T("表单无法解析", "the form could not be read"))
		}
		_, err = s.svc.SetUserAppRoles(ctx, p, id, vals.Get("app"), vals["role"])
		return err
	})
}

func (s *server) adminUserFreeze(c echo.Context) error {
	return s.userAction(c, "admin.user.frozen_flash", func(ctx context.Context, p *engine.Principal, id string) error {
		_, err := s.svc.FreezeUser(ctx, p, id)
		return err
	})
}

func (s *server) adminUserUnfreeze(c echo.Context) error {
	return s.userAction(c, "admin.user.saved", func(ctx context.Context, p *engine.Principal, id string) error {
		_, err := s.svc.UnfreezeUser(ctx, p, id)
		return err
	})
}

func (s *server) adminUserReassign(c echo.Context) error {
	return s.userAction(c, "admin.user.saved", func(ctx context.Context, p *engine.Principal, id string) error {
		_, err := s.svc.StartReassign(ctx, p, id, c.FormValue("to"))
		return err
	})
}

// adminUserTasks hands a frozen user's open approval tasks to another
// user and shows what moved and what stayed, with why.
func (s *server) adminUserTasks(c echo.Context) error {
	w, err := s.workflows()
	if err != nil {
		return err
	}
	lang := pageLang(c)
	out, err := w.HandOverTasks(c.Request().Context(), principal(c), c.Param("id"), c.FormValue("to"))
	if err != nil {
		if formError(err) && engine.ErrorCode(err) != engine.ENOTFOUND {
			return s.renderUser(c, statusOf(engine.ErrorCode(err)), errText(err, lang))
		}
		return err
	}
	flash := fmt.Sprintf(web.Msg(lang, "admin.user.tasks_moved"), len(out.Moved))
	if len(out.Left) > 0 {
		var why []string
		for _, l := range out.Left {
			why = append(why, l.Reason.In(lang))
		}
		slices.Sort(why)
		flash += " " + fmt.Sprintf(web.Msg(lang, "admin.user.tasks_left"), len(out.Left), strings.Join(slices.Compact(why), "; "))
	}
	return s.renderUserFlash(c, http.StatusOK, "", flash)
}

func (s *server) adminUserMFAReset(c echo.Context) error {
	return s.userAction(c, "admin.user.saved", func(ctx context.Context, p *engine.Principal, id string) error {
		return s.svc.ResetMFA(ctx, p, id)
	})
}

// ---- grants ----

func (s *server) adminGrants(c echo.Context) error {
	return s.renderGrants(c, http.StatusOK, "", web.AdminGrantForm{Scope: engine.ScopeOwn, Hours: "8", Ops: map[string]bool{}})
}

// formChoices lists every app's forms as "app/form" for a select.
func formChoices(apps []*engine.AdminApp, lang string) []web.Choice {
	var out []web.Choice
	for _, a := range apps {
		for _, f := range a.Forms {
			out = append(out, web.Choice{Value: a.Key + "/" + f.Key, Label: a.Name.In(lang) + " · " + f.Title.In(lang)})
		}
	}
	return out
}

func (s *server) userChoices(c echo.Context) ([]web.Choice, map[string]string, error) {
	users, err := s.svc.Users(c.Request().Context(), principal(c))
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	var out []web.Choice
	for _, u := range users {
		names[u.ID] = u.Name
		out = append(out, web.Choice{Value: u.ID, Label: u.Name + " <" + u.Email + ">"})
	}
	sortChoices(out)
	return out, names, nil
}

func (s *server) renderGrants(c echo.Context, status int, msg string, form web.AdminGrantForm) error {
	ctx := c.Request().Context()
	p := principal(c)
	pg, nav := s.adminPage(c, "admin.grants.title", "grants")
	v := web.AdminGrantsPage{Page: pg, AdminNav: nav, Error: msg, Form: form}
	var names map[string]string
	var err error
	if v.Users, names, err = s.userChoices(c); err != nil {
		return err
	}
	apps, err := s.svc.AdminApps(ctx, p)
	if err != nil {
		return err
	}
	v.Forms = formChoices(apps, pg.Lang)
	grants, err := s.svc.ListGrants(ctx, p, "")
	if err != nil {
		return err
	}
	sort.Slice(grants, func(i, j int) bool { return grants[i].CreatedAt.After(grants[j].CreatedAt) })
	now := s.svc.Now()
	for _, g := range grants {
		row := web.AdminGrantRow{ID: g.ID, User: names[g.User], Form: g.App + "/" + g.Form, Ops: strings.Join(g.Ops, ", "),
			Scope: web.Msg(pg.Lang, "admin.scope."+g.Scope), Reason: g.Reason, By: names[g.GrantedBy], Expires: fmtTime(g.ExpiresAt)}
		if row.By == "" {
			row.By = g.GrantedBy
		}
		var fs []string
		for _, k := range slices.Sorted(mapKeys(g.Fields)) {
			fs = append(fs, k+"="+g.Fields[k])
		}
		row.Fields = strings.Join(fs, ", ")
		switch {
		case g.Active(now):
			row.State = web.Msg(pg.Lang, "admin.grants.granted")
			row.RevokeURL = "/admin/grants/" + url.PathEscape(g.ID) + "/revoke"
			v.Active = append(v.Active, row)
		case g.RevokedAt != nil && g.RevokedAt.Before(g.ExpiresAt):
			row.State = web.Msg(pg.Lang, "admin.grants.revoked") + " " + fmtTime(*g.RevokedAt)
			v.Expired = append(v.Expired, row)
		default:
			row.State = web.Msg(pg.Lang, "admin.grants.expired_s")
			v.Expired = append(v.Expired, row)
		}
	}
	// requests go through the workflow runtime; without it there are none
	if w := s.wf; w != nil {
		if v.Pending, err = s.pendingRequestRows(c, w, false); err != nil {
			return err
		}
	}
	return Render(c, status, web.AdminGrantsView(v))
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (s *server) adminCreateGrant(c echo.Context) error {
	vals, err := c.FormParams()
	if err != nil {
		return badRequest(engine.T("表单无法解析", "the form could not be read"))
	}
	lang := pageLang(c)
	form := web.AdminGrantForm{User: vals.Get("user"), Form: vals.Get("form"), Scope: vals.Get("scope"), Fields: vals.Get("fields"),
		Reason: strings.TrimSpace(vals.Get("reason")), Hours: vals.Get("hours"), Ops: map[string]bool{}}
	for _, op := range vals["op"] {
		form.Ops[op] = true
	}
	refuse := func(err error) error {
		if formError(err) {
			return s.renderGrants(c, statusOf(engine.ErrorCode(err)), errText(err, lang), form)
		}
		return err
	}
	app, fm, ok := strings.Cut(form.Form, "/")
	if !ok {
		return refuse(engine.Invalid(engine.FieldError{Field: "/form", Code: "required", Message: engine.T("请选择表单", "choose a form")}))
	}
	hours, err := strconv.ParseFloat(form.Hours, 64)
	if err != nil || hours <= 0 {
		return refuse(engine.Invalid(engine.FieldError{Field: "/hours", Code: "range", Message: engine.T("有效小时数须为正数", "the hours must be a positive number")}))
	}
	fields := map[string]string{}
	for _, line := range strings.FieldsFunc(form.Fields, func(r rune) bool { return r == '\n' || r == ',' || r == '；' || r == ';' }) {
		k, perm, ok := strings.Cut(strings.TrimSpace(line), "=")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !ok {
			return refuse(engine.Invalid(engine.FieldError{Field: "/fields", Code: "format", Message: engine.Tf("字段权限 %q 应写成 字段=权限", "the field permission %q must read field=permission", line)}))
		}
		fields[strings.TrimSpace(k)] = strings.TrimSpace(perm)
	}
	if len(fields) == 0 {
		fields = nil
	}
	ops := slices.Sorted(func(yield func(string) bool) {
		for op := range form.Ops {
			if !yield(op) {
				return
			}
		}
	})
	_, err = s.svc.CreateGrant(c.Request().Context(), principal(c), engine.NewGrant{User: form.User, App: app, Form: fm, Ops: ops, Fields: fields,
		Scope: form.Scope, Reason: form.Reason, ExpiresAt: s.svc.Now().Add(time.Duration(hours * float64(time.Hour)))})
	if err != nil {
		return refuse(err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/grants?ok=admin.grants.granted")
}

func (s *server) adminRevokeGrant(c echo.Context) error {
	if err := s.svc.RevokeGrant(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/grants?ok=admin.grants.revoked")
}

// ---- explain ----

func (s *server) adminExplain(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	pg, nav := s.adminPage(c, "admin.explain.title", "explain")
	q := c.QueryParams()
	v := web.AdminExplainPage{Page: pg, AdminNav: nav, User: q.Get("user"), Form: q.Get("form"), Record: strings.TrimSpace(q.Get("record")),
		Fld: strings.TrimSpace(q.Get("field")), IP: strings.TrimSpace(q.Get("ip"))}
	var err error
	if v.Users, _, err = s.userChoices(c); err != nil {
		return err
	}
	apps, err := s.svc.AdminApps(ctx, p)
	if err != nil {
		return err
	}
	v.Forms = formChoices(apps, pg.Lang)
	status := http.StatusOK
	if v.User != "" && v.Form != "" {
		v.Asked = true
		app, form, _ := strings.Cut(v.Form, "/")
		ex, err := s.svc.Explain(ctx, p, v.User, app, form, v.Record, v.Fld, v.IP)
		if err != nil {
			if !formError(err) {
				return err
			}
			status = statusOf(engine.ErrorCode(err))
			v.Error = errText(err, pg.Lang)
		} else {
			v.Decision, v.Frozen, v.FieldPerm, v.PolicyDenied = ex.Decision, ex.Frozen, ex.FieldPerm, ex.Policies
			v.Operations = strings.Join(ex.Operations, ", ")
			if ex.InScope != nil {
				v.InScope = web.Msg(pg.Lang, "admin.no")
				if *ex.InScope {
					v.InScope = web.Msg(pg.Lang, "admin.yes")
				}
			}
			for _, r := range ex.Rules {
				row := web.AdminExplainRule{Source: r.Source, Ops: strings.Join(r.Ops, ", "), Scope: r.Scope, Reason: r.Reason, Applies: r.Applies}
				if r.Scope != "" {
					row.Scope = web.Msg(pg.Lang, "admin.scope."+r.Scope)
					if strings.HasPrefix(row.Scope, "admin.scope.") {
						row.Scope = r.Scope
					}
				}
				var fs []string
				for _, k := range slices.Sorted(mapKeys(r.Fields)) {
					fs = append(fs, k+"="+r.Fields[k])
				}
				row.Fields = strings.Join(fs, ", ")
				if r.Expires != nil {
					row.Expires = fmtTime(*r.Expires)
				}
				v.Rules = append(v.Rules, row)
			}
		}
	}
	return Render(c, status, web.AdminExplainView(v))
}

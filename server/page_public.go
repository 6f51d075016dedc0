package server

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// publicPage is the layout of an anonymous page: no signed-in user shown
// (a staff member opening a link sees it as a customer does), but their
// session's CSRF token when they have one, so their submit passes.
func (s *server) publicPage(c echo.Context, title string) web.Page {
	p := web.Page{Lang: pageLang(c), Title: title, Path: c.Request().URL.RequestURI(),
		Scripts: []string{"public.js"}, Styles: []string{"public.css"}}
	if a := authOf(c); a != nil && a.session != nil {
		p.CSRF = a.session.CSRF
	}
	return p
}

func publicBase(token string) string { return "/f/" + url.PathEscape(token) }

// publicForm builds the anonymous form page from the public's form view,
// the data shown and the rules' verdict.
func (s *server) publicForm(c echo.Context, token string, fv *engine.FormView, data map[string]any, res *engine.EvalResult, errs []engine.FieldError, ft, work string) web.PublicFormPage {
	lang := pageLang(c)
	in := web.FormInput{Lang: lang, Fields: fv.Fields, Layout: fv.Layout, Data: data, Errors: errs}
	withVerdict(&in, data, res)
	secs, other := web.BuildForm(in)
	t, _, _ := strings.Cut(ft, ".")
	return web.PublicFormPage{Page: s.publicPage(c, fv.Title.In(lang)), FormTitle: fv.Title.In(lang), Action: publicBase(token),
		PreviewURL: publicBase(token) + "/preview", Sections: secs, Errors: other, FormToken: ft, Challenge: t, WorkBits: engine.PublicWorkBits, Work: work}
}

// publicError renders what a visitor reads when the link or their
// submission is refused; errors that are not ours go to handleError.
func (s *server) publicError(c echo.Context, token string, err error) error {
	lang := pageLang(c)
	code := engine.ErrorCode(err)
	v := web.PublicMessagePage{Status: statusOf(code), Detail: engine.ErrorMessage(err, lang), RetryURL: publicBase(token)}
	switch code {
	case engine.ENOTFOUND:
		v.Heading, v.Detail, v.RetryURL = web.Msg(lang, "public.gone"), web.Msg(lang, "public.gone_detail"), ""
	case engine.EGONE:
		v.Heading = web.Msg(lang, "public.expired")
	case engine.ECONFLICT:
		v.Heading = web.Msg(lang, "public.again")
	case engine.ERATELIMIT:
		v.Heading, v.Detail, v.RetryURL = web.Msg(lang, "public.busy"), web.Msg(lang, "public.busy_detail"), ""
		if c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", "10")
		}
	case engine.EFORBIDDEN, engine.EINVALID, engine.EBADREQUEST, engine.ETOOLARGE:
		v.Heading = web.Msg(lang, "public.refused")
	default:
		return err
	}
	v.Page = s.publicPage(c, v.Heading)
	return Render(c, v.Status, web.PublicMessageView(v))
}

// publicFormPage is the anonymous form of a link: 404 once revoked.
func (s *server) publicFormPage(c echo.Context) error {
	ctx, token, ip := c.Request().Context(), c.Param("token"), c.RealIP()
	pf, err := s.svc.OpenPublicForm(ctx, token, ip)
	if err != nil {
		return s.publicError(c, token, err)
	}
	data := defaults(pf.View)
	res, _, err := s.svc.PreviewPublic(ctx, token, pf.FormToken, ip, engine.CloneData(data))
	if err != nil {
		return s.publicError(c, token, err)
	}
	return Render(c, http.StatusOK, web.PublicFormView(s.publicForm(c, token, pf.View, data, res, nil, pf.FormToken, "")))
}

// publicSubmitPage stores an anonymous submission and sends the visitor
// to the thank-you page; a form with mistakes comes back with them next
// to the fields. Beyond the address's budget nothing is read or written.
func (s *server) publicSubmitPage(c echo.Context) error {
	ctx, token, ip := c.Request().Context(), c.Param("token"), c.RealIP()
	if !s.allow(c, s.public, ip) {
		return s.publicError(c, token, errRateLimited())
	}
	fv, err := s.svc.PublicFormView(ctx, token)
	if err != nil {
		return s.publicError(c, token, err)
	}
	data, perrs, err := postedData(c, pageLang(c), fv, false)
	if err != nil {
		return s.publicError(c, token, err)
	}
	ft, work := c.FormValue("_ft"), c.FormValue("_pow")
	var cerr error
	if len(perrs) == 0 {
		_, err := s.svc.SubmitPublic(ctx, engine.PublicSubmission{Token: token, FormToken: ft, Work: work,
			Honeypot: c.FormValue("website"), IP: ip, Data: engine.CloneData(data)})
		if err == nil {
			return c.Redirect(http.StatusSeeOther, publicBase(token)+"/thanks")
		}
		if !fieldLevel(err) || engine.ErrorCode(err) == engine.ECONFLICT {
			return s.publicError(c, token, err)
		}
		cerr = err
	}
	res, _, err := s.svc.PreviewPublic(ctx, token, ft, ip, engine.CloneData(data))
	if err != nil {
		return s.publicError(c, token, err)
	}
	status := http.StatusUnprocessableEntity
	if cerr != nil {
		status = statusOf(engine.ErrorCode(cerr))
	}
	return Render(c, status, web.PublicFormView(s.publicForm(c, token, fv, data, res, formErrors(perrs, cerr), ft, work)))
}

// publicPreviewPage answers the anonymous form's live-rule requests, for
// a page whose form token is good.
func (s *server) publicPreviewPage(c echo.Context) error {
	ctx, token := c.Request().Context(), c.Param("token")
	fv, err := s.svc.PublicFormView(ctx, token)
	if err != nil {
		return err
	}
	lang := pageLang(c)
	data, perrs, err := postedData(c, lang, fv, false)
	if err != nil {
		return err
	}
	res, fv, err := s.svc.PreviewPublic(ctx, token, c.FormValue("_ft"), c.RealIP(), data)
	if err != nil {
		return err
	}
	markReadonly(fv.Fields, res)
	return c.JSON(http.StatusOK, previewResult(res, lang, perrs))
}

// publicThanksPage is the thank-you after a submission; it reads nothing.
func (s *server) publicThanksPage(c echo.Context) error {
	lang := pageLang(c)
	v := web.PublicMessagePage{Status: http.StatusOK, Heading: web.Msg(lang, "public.thanks"), Detail: web.Msg(lang, "public.thanks_detail"), Done: true}
	v.Page = s.publicPage(c, v.Heading)
	return Render(c, http.StatusOK, web.PublicMessageView(v))
}

// publicLinkPage shows a form's public link with its QR code and the form
// to make a new one (administrators and the app's designers).
func (s *server) publicLinkPage(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	app, form := c.Param("app"), c.Param("form")
	l, err := s.svc.PublicLink(ctx, p, app, form)
	if err != nil && engine.ErrorCode(err) != engine.ENOTFOUND {
		return err
	}
	in := engine.PublicLinkInput{}
	if l != nil {
		in = engine.PublicLinkInput{Unit: l.Unit, Owner: l.Owner, Sensitive: l.Sensitive}
	}
	v, err := s.linkPage(c, app, form, l, in, nil)
	if err != nil {
		return err
	}
	switch c.QueryParam("done") {
	case "made":
		v.Flash = web.Msg(v.Lang, "public.link.made")
	case "revoked":
		v.Flash = web.Msg(v.Lang, "public.link.revoked")
	}
	return Render(c, http.StatusOK, web.PublicLinkView(v))
}

// linkPage builds the public link page: the link (if any), the form to
// make one filled with in, and errs.
func (s *server) linkPage(c echo.Context, app, form string, l *engine.PublicLink, in engine.PublicLinkInput, errs []string) (web.PublicLinkPage, error) {
	ctx, lang := c.Request().Context(), pageLang(c)
	b, _, err := s.svc.Bundle(ctx, app, 0)
	if err != nil {
		return web.PublicLinkPage{}, err
	}
	f := b.Form(form)
	if f == nil {
		return web.PublicLinkPage{}, engine.Errorf(engine.ENOTFOUND, engine.T("表单不存在", "no such form"))
	}
	names := s.actorNames(c)
	v := web.PublicLinkPage{Page: s.page(c, web.Msg(lang, "public.link.title")), FormTitle: f.Title.In(lang), ListURL: formBase(app, form),
		Action: formBase(app, form) + "/public-link", RevokeAction: formBase(app, form) + "/public-link/revoke", Unit: in.Unit, Errors: errs}
	v.Styles = append(v.Styles, "public.css")
	units, err := s.org.ListUnits(ctx)
	if err != nil {
		return v, err
	}
	for _, u := range units {
		v.Units = append(v.Units, web.Choice{Value: u.Key, Label: u.Name.In(lang)})
		if l != nil && u.Key == l.Unit {
			v.Unit = u.Key
		}
	}
	if v.Unit == "" {
		v.Unit = authOf(c).user.Unit
	}
	v.Owner = in.Owner
	if o, err := s.org.FindUserByID(ctx, in.Owner); err == nil {
		v.Owner = o.Email
	}
	for _, fd := range f.Fields {
		if fd.Sensitive != "" {
			v.Sensitive = append(v.Sensitive, web.SensitiveChoice{Key: fd.Key, Label: fd.LabelOr().In(lang), Checked: slices.Contains(in.Sensitive, fd.Key)})
		}
	}
	if l == nil {
		return v, nil
	}
	out, err := s.linkOut(c, l)
	if err != nil {
		return v, err
	}
	var sens []string
	for _, k := range l.Sensitive {
		if fd := f.Field(k); fd != nil {
			sens = append(sens, fd.LabelOr().In(lang))
		}
	}
	unit := l.Unit
	if u, err := s.org.FindUnit(ctx, l.Unit); err == nil {
		unit = u.Name.In(lang)
	}
	v.Link = &web.PublicLinkInfo{URL: out.URL, QR: out.QR, Unit: unit, Owner: names(l.Owner), Sensitive: strings.Join(sens, "、"),
		CreatedAt: fmtTime(l.CreatedAt), CreatedBy: names(l.CreatedBy)}
	if fv, err := s.svc.PublicFormView(ctx, l.Token); err == nil {
		for _, fd := range fv.Fields {
			v.Fields = append(v.Fields, fd.Field.LabelOr().In(lang))
		}
	}
	return v, nil
}

// makePublicLinkPage makes (or replaces) the link from the page's form;
// mistakes come back on the page in words.
func (s *server) makePublicLinkPage(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	app, form := c.Param("app"), c.Param("form")
	vals, err := c.FormParams()
	if err != nil {
		return badRequest(engine.T("表单无法解析", "the form could not be read"))
	}
	in := engine.PublicLinkInput{Unit: vals.Get("unit"), Owner: strings.TrimSpace(vals.Get("owner")), Sensitive: vals["sensitive"]}
	_, err = s.svc.CreatePublicLink(ctx, p, app, form, in)
	if err == nil {
		return c.Redirect(http.StatusSeeOther, formBase(app, form)+"/public-link?done=made")
	}
	if engine.ErrorCode(err) != engine.EINVALID {
		return err
	}
	lang := pageLang(c)
	var errs []string
	for _, fe := range engine.ErrorFields(err) {
		errs = append(errs, fe.Message.In(lang))
	}
	l, lerr := s.svc.PublicLink(ctx, p, app, form)
	if lerr != nil && engine.ErrorCode(lerr) != engine.ENOTFOUND {
		return lerr
	}
	v, verr := s.linkPage(c, app, form, l, in, errs)
	if verr != nil {
		return verr
	}
	return Render(c, http.StatusUnprocessableEntity, web.PublicLinkView(v))
}

// revokePublicLinkPage revokes the link from its page.
func (s *server) revokePublicLinkPage(c echo.Context) error {
	app, form := c.Param("app"), c.Param("form")
	if err := s.svc.RevokePublicLink(c.Request().Context(), principal(c), app, form); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, formBase(app, form)+"/public-link?done=revoked")
}

// publicLinkURL is the public link page of the form at base for the list
// page's button: "" unless the user may design app. It only asks; a
// refusal is not audited here (the page itself checks and audits).
func (s *server) publicLinkURL(c echo.Context, app, base string) string {
	all, apps, err := s.svc.DesignableApps(c.Request().Context(), principal(c))
	if err != nil || !all && !slices.Contains(apps, app) {
		return ""
	}
	return base + "/public-link"
}

package server

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// bindBinPages binds a form's recycle bin: the page (those with the
// delete operation), restoring from it, purging (administrators, with
// their second factor again), and the API's purge.
func (s *server) bindBinPages(e *echo.Echo, page, user []echo.MiddlewareFunc) {
	const bin = "/apps/:app/forms/:form/bin"
	e.GET(bin, s.binPage, page...)
	e.POST(bin+"/:id/restore", s.binRestore, page...)
	e.POST(bin+"/:id/purge", s.binPurge, page...)
	e.POST("/api/v1/apps/:app/forms/:form/records/:id/purge", s.apiPurge, user...)
}

// binColumns is how many of the list's columns the bin shows: enough to
// know the record, leaving room for who deleted it and the buttons on a
// phone.
const binColumns = 2

func (s *server) binPage(c echo.Context) error {
	return s.renderBin(c, http.StatusOK, "")
}

func (s *server) renderBin(c echo.Context, status int, msg string) error {
	ctx, p := c.Request().Context(), principal(c)
	lang := pageLang(c)
	fv, err := s.svc.FormView(ctx, p, c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	base := formBase(fv.App, fv.Key)
	v := web.BinPage{Page: s.page(c, fv.Title.In(lang)+" · "+web.Msg(lang, "bin.title")), FormTitle: fv.Title.In(lang), ListURL: base, Error: msg,
		CanPurge: p.User.Admin}
	v.Styles = append(v.Styles, "audit.css")
	switch c.QueryParam("ok") {
	case "restored":
		v.Flash = web.Msg(lang, "bin.restored")
	case "purged":
		v.Flash = web.Msg(lang, "bin.purged")
	}
	if d := s.cfg.BinRetention; d > 0 {
		v.Retention = strconv.Itoa(int(d.Hours() / 24))
	}
	if v.CanPurge {
		enrolled, err := s.svc.MFAEnrolled(ctx, p)
		if err != nil {
			return err
		}
		v.AskCode = enrolled[p.User.ID]
	}
	if !slices.Contains(fv.Operations, engine.OpDelete) {
		return engine.Forbidden(engine.T("无权查看回收站", "you may not open the recycle bin here"))
	}
	cursor := c.QueryParam("cursor")
	list, err := s.svc.ListRecords(ctx, p, fv.App, fv.Key, engine.ListQuery{Deleted: true, Limit: 20, Cursor: cursor})
	if err != nil {
		return err
	}
	cols := listColumns(fv)
	cols = cols[:min(len(cols), binColumns)]
	for _, f := range cols {
		v.Columns = append(v.Columns, f.Field.LabelOr().In(lang))
	}
	rows, err := s.listRows(c, fv, cols, list.Items)
	if err != nil {
		return err
	}
	name := s.actorNames(c)
	for i, r := range list.Items {
		row := web.BinRow{ID: r.ID, Cells: rows[i].Cells[:len(cols)], DeletedBy: name(r.DeletedBy), Version: strconv.FormatInt(r.Version, 10),
			RestoreURL: base + "/bin/" + url.PathEscape(r.ID) + "/restore", PurgeURL: base + "/bin/" + url.PathEscape(r.ID) + "/purge"}
		if r.DeletedAt != nil {
			row.DeletedAt = r.DeletedAt.In(s.svc.TimeZone()).Format("2006-01-02 15:04")
		}
		v.Rows = append(v.Rows, row)
	}
	if list.NextCursor != "" {
		v.NextURL = base + "/bin?" + url.Values{"cursor": {list.NextCursor}}.Encode()
	}
	return Render(c, status, web.BinView(v))
}

func (s *server) binRestore(c echo.Context) error {
	app, form, id := c.Param("app"), c.Param("form"), c.Param("id")
	if _, err := s.svc.RestoreRecord(c.Request().Context(), principal(c), app, form, id, 0); err != nil {
		if formError(err) {
			return s.renderBin(c, statusOf(engine.ErrorCode(err)), errText(err, pageLang(c)))
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, formBase(app, form)+"/bin?ok=restored")
}

func (s *server) binPurge(c echo.Context) error {
	app, form, id := c.Param("app"), c.Param("form"), c.Param("id")
	err := s.svc.PurgeRecord(c.Request().Context(), principal(c), app, form, id, c.FormValue("totp"))
	if err != nil {
		if formError(err) || engine.ErrorCode(err) == engine.EUNAUTHORIZED {
			return s.renderBin(c, statusOf(engine.ErrorCode(err)), errText(err, pageLang(c)))
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, formBase(app, form)+"/bin?ok=purged")
}

// apiPurge purges a record in the recycle bin: {"totp"?} → 204
// (administrators; the code when they have a second factor).
func (s *server) apiPurge(c echo.Context) error {
	var in struct {
		TOTP string `json:"totp"`
	}
	if c.Request().ContentLength != 0 {
		if err := s.decodeJSON(c, &in); err != nil {
			return err
		}
	}
	if err := s.svc.PurgeRecord(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), c.Param("id"), in.TOTP); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

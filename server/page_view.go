package server

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// pickView returns the view id names (nil for none or an unknown one) and
// the bundle's first view, whose columns a list shows by default.
func pickView(views []*engine.SavedView, id string) (open, def *engine.SavedView) {
	for _, v := range views {
		if v.Builtin && def == nil {
			def = v
		}
		if id != "" && v.ID == id {
			open = v
		}
	}
	return open, def
}

// listStateSet reports whether qs sets any of the list's state (search,
// sort, filters, columns) rather than only opening a view or paging.
func listStateSet(qs url.Values) bool {
	for k := range qs {
		switch {
		case k == "q", k == "sort", k == "col", k == "filter", strings.HasPrefix(k, "f."):
			return true
		}
	}
	return false
}

// viewQuery is qs with the state of view v: its search, sort, columns and
// conditions as the list page's own parameters, so its filters show as
// set and the page reads them back through listFilters under the
// viewer's permissions like any typed in.
func viewQuery(v *engine.SavedView, qs url.Values) url.Values {
	out := url.Values{}
	for k, vs := range qs {
		out[k] = slices.Clone(vs)
	}
	if v.Search != "" {
		out.Set("q", v.Search)
	}
	if v.Sort != "" {
		out.Set("sort", v.Sort)
	}
	for _, c := range v.Columns {
		out.Add("col", c)
	}
	for _, m := range v.Match {
		name := "f." + m.Field
		switch {
		case m.Equals != nil:
			out.Set(name, web.FormatValue(m.Equals))
		case m.Contains != "":
			out.Set(name, m.Contains)
		case m.Range != "":
			if from, to, custom := strings.Cut(m.Range, ".."); custom {
				out.Set(name+".range", "custom")
				out.Set(name+".from", from)
				out.Set(name+".to", to)
			} else {
				out.Set(name+".range", m.Range)
			}
		default:
			if m.From != nil {
				out.Set(name+".from", boundText(m.From))
			}
			if m.To != nil {
				out.Set(name+".to", boundText(m.To))
			}
		}
	}
	return out
}

// boundText is a range bound as the page's inputs take it: a date-time
// (stored in UTC) to the minute, anything else as it is written.
func boundText(v any) string {
	if s, ok := v.(string); ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil && len(s) > len("2006-01-02") {
			return t.UTC().Format("2006-01-02T15:04")
		}
	}
	return web.FormatValue(v)
}

// listViewTabs sets the tabs over the list (all records, then each view),
// the rename and delete forms of an open view the user saved, and the
// "save as a view" form with the list's current state.
func (s *server) listViewTabs(v *web.ListPage, views []*engine.SavedView, open *engine.SavedView, qs url.Values, base, lang string) {
	v.Views = append(v.Views, web.ViewTab{ID: "", Name: web.Msg(lang, "views.all"), URL: base, Active: open == nil})
	for _, sv := range views {
		tab := web.ViewTab{ID: sv.ID, Name: sv.Name.In(lang), URL: base + "?" + url.Values{"view": {sv.ID}}.Encode(),
			Active: open != nil && open.ID == sv.ID, Shared: sv.Unit != ""}
		if sv.Mine {
			tab.RenameURL = base + "/views/" + url.PathEscape(sv.ID)
			tab.DeleteURL = tab.RenameURL + "/delete"
		}
		v.Views = append(v.Views, tab)
		if tab.Active {
			v.View = sv.ID
			if sv.Mine {
				t := tab
				v.ViewEdit = &t
			}
		}
	}
	if v.View == "" && len(views) == 0 && !listStateSet(qs) {
		v.Views = nil // nothing to choose between
	}
	save := url.Values{}
	for k, vs := range qs {
		switch k {
		case "cursor", "view", "view_ok", "deleted":
		default:
			save[k] = vs
		}
	}
	v.SaveURL, v.SaveQuery = base+"/views", save.Encode()
}

// pickColumns is the columns a list shows: those ticked (col), else the
// open view's, else the bundle's first view's, else listColumns — always
// cut to what the user may see.
func pickColumns(fv *engine.FormView, qs url.Values, open, def *engine.SavedView) []*engine.FieldView {
	for _, keys := range [][]string{qs["col"], viewCols(open), viewCols(def)} {
		if cols := viewColumns(fv, keys); len(cols) > 0 {
			return cols
		}
	}
	return listColumns(fv)
}

func viewCols(v *engine.SavedView) []string {
	if v == nil {
		return nil
	}
	return v.Columns
}

// columnChoices is the fields a user may tick as columns, those shown ticked.
func columnChoices(fv *engine.FormView, shown []*engine.FieldView, lang string) []web.Option {
	var out []web.Option
	for _, f := range fv.Fields {
		if !listable(f.Field) {
			continue
		}
		out = append(out, web.Option{Value: f.Field.Key, Label: f.Field.LabelOr().In(lang), Selected: slices.Contains(shown, f)})
	}
	return out
}

// viewSaveSubmit saves the list state posted (query: the list's
// parameters) as a view of the user's, read back through listFilters.
func (s *server) viewSaveSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	lang := pageLang(c)
	qs, err := url.ParseQuery(c.FormValue("query"))
	if err != nil {
		return badRequest(engine.T("表单无法解析", "the form could not be read"))
	}
	fv, err := s.svc.FormView(ctx, principal(c), c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	_, matches, bad := listFilters(fv, qs, lang, web.ParseTZ(qs.Get("_tz")), formBase(fv.App, fv.Key))
	if bad != "" {
		return s.renderList(c, qs, http.StatusUnprocessableEntity, web.Msg(lang, "flt.bad")+": "+bad)
	}
	in := engine.ViewInput{Name: c.FormValue("name"), Shared: c.FormValue("shared") != "",
		ViewState: engine.ViewState{Columns: qs["col"], Match: matches, Search: qs.Get("q"), Sort: qs.Get("sort")}}
	sv, err := s.svc.SaveView(ctx, principal(c), fv.App, fv.Key, in)
	if err != nil {
		if !formError(err) && engine.ErrorCode(err) != engine.EFORBIDDEN {
			return err
		}
		return s.renderList(c, qs, statusOf(engine.ErrorCode(err)), errText(err, lang))
	}
	return c.Redirect(http.StatusSeeOther, formBase(fv.App, fv.Key)+"?"+url.Values{"view": {sv.ID}, "view_ok": {"views.saved"}}.Encode())
}

// viewUpdateSubmit renames (and shares or unshares) a view the user saved.
func (s *server) viewUpdateSubmit(c echo.Context) error {
	shared := c.FormValue("shared") != ""
	app, form, id := c.Param("app"), c.Param("form"), c.Param("id")
	if _, err := s.svc.RenameView(c.Request().Context(), principal(c), app, form, id, c.FormValue("name"), &shared); err != nil {
		return s.viewFormFailed(c, err, url.Values{"view": {id}})
	}
	return c.Redirect(http.StatusSeeOther, formBase(app, form)+"?"+url.Values{"view": {id}, "view_ok": {"views.renamed"}}.Encode())
}

// viewDeleteSubmit deletes a view the user saved.
func (s *server) viewDeleteSubmit(c echo.Context) error {
	app, form, id := c.Param("app"), c.Param("form"), c.Param("id")
	if err := s.svc.DeleteView(c.Request().Context(), principal(c), app, form, id); err != nil {
		return s.viewFormFailed(c, err, url.Values{"view": {id}})
	}
	return c.Redirect(http.StatusSeeOther, formBase(app, form)+"?"+url.Values{"view_ok": {"views.deleted"}}.Encode())
}

// viewFormFailed shows the list with the reason a view change was refused.
func (s *server) viewFormFailed(c echo.Context, err error, qs url.Values) error {
	if !formError(err) && engine.ErrorCode(err) != engine.EFORBIDDEN {
		return err
	}
	return s.renderList(c, qs, statusOf(engine.ErrorCode(err)), errText(err, pageLang(c)))
}

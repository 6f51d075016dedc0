package server

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/engine/workflow"
	"formwork/web"
)

// printPage is a record laid out for A4 paper with the viewer's watermark.
// The engine decides whether the viewer may print it (the print operation,
// the record in scope) and audits the print; the page shows the record as
// the engine returned it, in the form's sections.
func (s *server) printPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	app, form, id := c.Param("app"), c.Param("form"), c.Param("id")
	pr, err := s.svc.PrintRecord(ctx, p, app, form, id)
	if err != nil {
		return err
	}
	fv, err := s.svc.FormView(ctx, p, app, form)
	if err != nil {
		return err
	}
	r := pr.Record
	name := s.actorNames(c)
	v := web.PrintPage{Page: s.page(c, web.Msg(lang, "print.title")+" · "+fv.Title.In(lang)), FormTitle: fv.Title.In(lang),
		BackURL:   recordPageURL(app, form, r.ID),
		Watermark: pr.By.Name + " · " + pr.By.Email + " · " + fmtTime(pr.At)}
	unit := r.Unit
	if u, err := s.org.FindUnit(ctx, r.Unit); err == nil {
		unit = u.Name.In(lang)
	}
	v.Meta = []web.Value{
		{Label: web.Msg(lang, "print.record_id"), Value: r.ID},
		{Label: web.Msg(lang, "record.version"), Value: strconv.FormatInt(r.Version, 10)},
		{Label: web.Msg(lang, "record.status"), Value: web.StatusLabel(lang, r.Status)},
		{Label: web.Msg(lang, "record.owner"), Value: name(r.Owner)},
		{Label: web.Msg(lang, "record.unit"), Value: unit},
		{Label: web.Msg(lang, "record.created"), Value: fmtTime(r.CreatedAt)},
		{Label: web.Msg(lang, "record.updated"), Value: fmtTime(r.UpdatedAt)},
		{Label: web.Msg(lang, "print.by"), Value: pr.By.Name},
		{Label: web.Msg(lang, "print.at"), Value: fmtTime(pr.At)},
	}
	// the form's rules decide which fields show for this record, as on
	// the form page (a member-since date only for members)
	res, err := s.svc.Preview(ctx, p, app, form, r.ID, nil)
	if err != nil {
		return err
	}
	picked, _ := s.pickedLabels(c, fv, r.Data)
	v.Sections = printSections(lang, fv, r.Data, picked, res.Fields)
	s.printApprovals(c, &v, fv, r.ID)
	return Render(c, http.StatusOK, web.PrintView(v))
}

// printSections lays the visible fields out in the form's sections (a
// field the rules hide for this record left out); fields no section names
// come last, as on the form page.
func printSections(lang string, fv *engine.FormView, data map[string]any, picked map[string]string, states map[string]engine.FieldState) []web.PrintSection {
	byKey := map[string]*engine.FieldView{}
	for _, f := range fv.Fields {
		if st, ok := states[f.Field.Key]; ok && !st.Visible {
			continue // the rules hide it for this record
		}
		byKey[f.Field.Key] = f
	}
	used := map[string]bool{}
	var out []web.PrintSection
	add := func(title *engine.Text, columns int, keys []string) {
		sec := web.PrintSection{Columns: min(max(columns, 1), 3)}
		if title != nil {
			sec.Title = title.In(lang)
		}
		for _, k := range keys {
			f, ok := byKey[k]
			if !ok || used[k] {
				continue
			}
			used[k] = true
			sec.Values = append(sec.Values, printValue(lang, f.Field, data[k], picked[k]))
		}
		if len(sec.Values) > 0 {
			out = append(out, sec)
		}
	}
	for _, sec := range fv.Layout {
		add(sec.Title, sec.Columns, sec.Fields)
	}
	var rest []string
	for _, f := range fv.Fields {
		if _, ok := byKey[f.Field.Key]; ok {
			rest = append(rest, f.Field.Key)
		}
	}
	add(nil, 1, rest)
	return out
}

// printValue is one field's value on paper; a subform's rows become a
// table of its columns.
func printValue(lang string, fd *engine.Field, val any, picked string) web.PrintValue {
	pv := web.PrintValue{Key: fd.Key, Label: fd.LabelOr().In(lang)}
	rows, isRows := val.([]any)
	if fd.IsSubform() && (isRows || val == nil) {
		t := &web.PrintTable{}
		for _, sub := range fd.Fields {
			t.Columns = append(t.Columns, sub.LabelOr().In(lang))
		}
		for _, row := range rows {
			m, _ := row.(map[string]any)
			cells := make([]string, len(fd.Fields))
			for i, sub := range fd.Fields {
				if x, ok := m[sub.Key]; ok {
					cells[i] = web.DisplayValue(lang, sub, x)
				}
			}
			t.Rows = append(t.Rows, cells)
		}
		pv.Table = t
		return pv
	}
	if val == nil {
		return pv
	}
	pv.Value = web.DisplayValue(lang, fd, val)
	if picked != "" {
		pv.Value = picked
	}
	return pv
}

// printApprovals adds the record's approval history: the workflow steps
// of its timeline (record changes are the history's, not the approval's).
func (s *server) printApprovals(c echo.Context, v *web.PrintPage, fv *engine.FormView, id string) {
	if s.wf == nil {
		return
	}
	lang := pageLang(c)
	fl, err := s.wf.RecordFlow(c.Request().Context(), principal(c), fv.App, fv.Key, id)
	if err != nil || fl.Instances == 0 {
		if err != nil && engine.ErrorCode(err) != engine.ENOTFOUND {
			s.log.Warn("print: record flow", "err", err)
		}
		return
	}
	v.Status = web.Msg(lang, "tasks.st."+fl.Status)
	names := map[string]*engine.Text{}
	var steps []workflow.TimelineEntry
	for _, e := range fl.Timeline {
		if e.Instance == "" {
			continue
		}
		if e.Node != "" && e.NodeName != nil {
			names[e.Node] = e.NodeName
		}
		if e.NodeName == nil && names[e.Node] == nil {
			e.Node = "" // a node without a name: its key is the designer's word, not staff's
		}
		steps = append(steps, e)
	}
	v.Steps = s.flowSteps(c, steps, fv.Form, fv.Perms, names)
}

package server

import (
	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// changeLabels reads the member, unit and relation values of a record's
// revisions as the user may see them: out[i][j] holds the labels of
// change j of revision i, before and after, by field key. The values go
// to the engine as one page of rows, so each distinct value is looked up
// once; when that fails the history shows the values as stored.
func (s *server) changeLabels(c echo.Context, fv *engine.FormView, revs []*engine.RevisionView) [][][2]map[string]engine.Text {
	out := make([][][2]map[string]engine.Text, len(revs))
	var rows []map[string]any
	for i, rv := range revs {
		out[i] = make([][2]map[string]engine.Text, len(rv.Changes))
		for _, ch := range rv.Changes {
			if fd := fv.Form.Field(ch.Field); fd == nil || !picksValue(fd) {
				rows = append(rows, nil, nil)
				continue
			}
			rows = append(rows, map[string]any{ch.Field: ch.Before}, map[string]any{ch.Field: ch.After})
		}
	}
	labels, err := s.svc.PickLabelsList(c.Request().Context(), principal(c), fv.App, fv.Key, rows)
	if err != nil {
		s.log.Warn("record history: labels", "err", err)
		return out
	}
	n := 0
	for i := range out {
		for j := range out[i] {
			out[i][j] = [2]map[string]engine.Text{labels[n], labels[n+1]}
			n += 2
		}
	}
	return out
}

// picksValue reports whether fd holds a value a picker chose: a person, a
// unit or a related record, shown by its name rather than its key.
func picksValue(fd *engine.Field) bool {
	switch fd.Widget {
	case engine.WidgetMember, engine.WidgetUnit, engine.WidgetRelation:
		return true
	}
	return false
}

// unitName is the unit's name in the page's language, or its key when the
// unit is gone.
func (s *server) unitName(c echo.Context, key string) string {
	u, err := s.org.FindUnit(c.Request().Context(), key)
	if err != nil || u.Name.IsZero() {
		return key
	}
	return u.Name.In(pageLang(c))
}

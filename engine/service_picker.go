package engine

import (
	"context"
	"fmt"
	"strings"

	"formwork/engine/filter"
)

// PickItem is one choice of a picker: the value a field stores and what
// to show for it.
type PickItem struct {
	Value string `json:"value"`
	Label Text   `json:"label"`
	Hint  string `json:"hint,omitempty"`
	Depth int    `json:"depth,omitempty"` // units: the level in the tree
}

// maxPick caps a picker's answer.
const maxPick = 50

// pickField checks that p may see field of form (read or create on the
// form, the field not hidden) and that it is a picker field.
func (s *Service) pickField(ctx context.Context, p *Principal, app, form, field string) (*Form, *Field, error) {
	_, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, nil, err
	}
	if !acc.Can(OpnRead) && !acc.Can(OpnCreate) {
		return nil, nil, s.deny(ctx, p, "pick", app, form, "", "no read or create permission", notFoundForm(app, form))
	}
	fd := f.Field(field)
	if fd == nil || acc.Field(field) == PermHidden {
		return nil, nil, Errorf(ENOTFOUND, Tf("表单中没有字段 %q", "the form has no field %q", field))
	}
	switch fd.Widget {
	case WidgetMember, WidgetUnit, WidgetRelation:
		return f, fd, nil
	}
	return nil, nil, Invalid(FieldError{Field: "/field", Code: "widget", Message: Tf("字段 %s 不是选择器", "field %s is not a picker", field)})
}

// Pick lists the choices of a member, unit or relation field that match
// q (at most limit, ≤ 50). Members are active users by name or email
// (shown by name and unit); units come in tree order; related records are
// read through ListRecords on the related form, so only records in p's
// scope are listed and only what p may see of them is shown (a display
// field p may not see leaves the record's id as its label).
func (s *Service) Pick(ctx context.Context, p *Principal, app, form, field, q string, limit int) ([]PickItem, error) {
	_, fd, err := s.pickField(ctx, p, app, form, field)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > maxPick {
		limit = 20
	}
	q = strings.TrimSpace(q)
	if len([]rune(q)) > 100 {
		return nil, Invalid(FieldError{Field: "/q", Code: "maxLength", Message: T("搜索词过长", "the search term is too long")})
	}
	lq := strings.ToLower(q)
	out := []PickItem{}
	switch fd.Widget {
	case WidgetMember:
		users, err := s.org.ListUsers(ctx, "")
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			if u.Frozen {
				continue
			}
			if lq != "" && !strings.Contains(strings.ToLower(u.Name), lq) && !strings.EqualFold(u.Email, q) && u.ID != q {
				continue
			}
			out = append(out, PickItem{Value: u.ID, Label: T(u.Name, u.Name), Hint: u.Unit})
			if len(out) == limit {
				break
			}
		}
	case WidgetUnit:
		units, err := s.org.ListUnits(ctx)
		if err != nil {
			return nil, err
		}
		for _, u := range units {
			if lq != "" && !strings.Contains(strings.ToLower(u.Name.Zh+" "+u.Name.En+" "+u.Key), lq) {
				continue
			}
			out = append(out, PickItem{Value: u.Key, Label: u.Name, Depth: len(u.Path)})
			if len(out) == limit && lq != "" {
				break
			}
		}
	case WidgetRelation:
		list, err := s.ListRecords(ctx, p, app, fd.Relation.Form, ListQuery{Search: q, Limit: limit})
		if err != nil {
			return nil, err
		}
		for _, r := range list.Items {
			out = append(out, PickItem{Value: r.ID, Label: relationLabel(fd, r.ID, r.Data)})
		}
	}
	return out, nil
}

func relationLabel(fd *Field, id string, data map[string]any) Text {
	if fd.Relation.Display != "" {
		if v, ok := data[fd.Relation.Display]; ok && v != nil {
			s := fmt.Sprint(v)
			return T(s, s)
		}
	}
	return T(id, id)
}

// PickLabels returns the labels of the member, unit and relation values
// in data, by field key, for showing a record or a form: user names, unit
// names, and the related record's display field as p may see it (a record
// outside p's scope keeps its id). Fields p may not see are skipped.
func (s *Service) PickLabels(ctx context.Context, p *Principal, app, form string, data map[string]any) (map[string]Text, error) {
	b, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	out := map[string]Text{}
	for _, fd := range f.Fields {
		v, ok := data[fd.Key].(string)
		if !ok || v == "" || acc.Field(fd.Key) == PermHidden || acc.Field(fd.Key) == PermMasked {
			continue
		}
		switch fd.Widget {
		case WidgetMember:
			if u, err := s.org.FindUserByID(ctx, v); err == nil {
				out[fd.Key] = T(u.Name, u.Name)
			}
		case WidgetUnit:
			if u, err := s.org.FindUnit(ctx, v); err == nil {
				out[fd.Key] = u.Name
			}
		case WidgetRelation:
			rf := b.Form(fd.Relation.Form)
			if rf == nil {
				continue
			}
			racc, err := s.useAccess(ctx, p, b, rf)
			if err != nil || !racc.Can(OpnRead) {
				continue
			}
			r, err := s.findInScope(ctx, app, rf, racc, v, false)
			if err != nil {
				continue
			}
			out[fd.Key] = relationLabel(fd, r.ID, redact(rf, racc, r.Data))
		}
	}
	return out, nil
}

// PickLabelsList is PickLabels for a page of records (rows[i] is a
// record's data as p sees it): out[i] holds the labels of row i. Each
// distinct value is looked up once for the page, not per row: one read of
// the unit tree, one read per distinct user, and one scoped query per
// related form, so a relation shows only what p may see of the related
// record (masked where masked there; a record outside p's scope keeps its
// id). Fields p may not see in full are skipped.
func (s *Service) PickLabelsList(ctx context.Context, p *Principal, app, form string, rows []map[string]any) ([]map[string]Text, error) {
	b, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]Text, len(rows))
	for i := range out {
		out[i] = map[string]Text{}
	}
	// the distinct values of each kind
	users := map[string]*Text{}
	units := map[string]*Text{}
	related := map[string]map[string]*Text{} // related form → id → label, per display field below
	var fields []*Field
	for _, fd := range f.Fields {
		if perm := acc.Field(fd.Key); perm == PermHidden || perm == PermMasked {
			continue
		}
		if fd.Widget != WidgetMember && fd.Widget != WidgetUnit && (fd.Widget != WidgetRelation || fd.Relation == nil) {
			continue
		}
		fields = append(fields, fd)
		for _, data := range rows {
			v, _ := data[fd.Key].(string)
			if v == "" {
				continue
			}
			switch fd.Widget {
			case WidgetMember:
				users[v] = nil
			case WidgetUnit:
				units[v] = nil
			case WidgetRelation:
				if related[fd.Key] == nil {
					related[fd.Key] = map[string]*Text{}
				}
				related[fd.Key][v] = nil
			}
		}
	}
	for id := range users {
		if u, err := s.org.FindUserByID(ctx, id); err == nil {
			users[id] = &Text{Zh: u.Name, En: u.Name}
		} else if ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
	}
	if len(units) > 0 {
		all, err := s.org.ListUnits(ctx)
		if err != nil {
			return nil, err
		}
		for _, u := range all {
			if _, ok := units[u.Key]; ok {
				name := u.Name
				units[u.Key] = &name
			}
		}
	}
	for _, fd := range fields {
		ids := related[fd.Key]
		if fd.Widget != WidgetRelation || len(ids) == 0 {
			continue
		}
		rf := b.Form(fd.Relation.Form)
		if rf == nil {
			continue
		}
		racc, err := s.useAccess(ctx, p, b, rf)
		if err != nil {
			return nil, err
		}
		if !racc.Can(OpnRead) {
			continue
		}
		in := make([]any, 0, len(ids))
		for id := range ids {
			in = append(in, id)
		}
		var flt filter.Expr = filter.Cmp{Field: sysField("_id"), Op: filter.OpIn, Value: in}
		if scope := racc.ScopeFilter(); scope != nil {
			flt = filter.And{Items: []filter.Expr{scope, flt}}
		}
		page, err := s.store.FindRecords(ctx, RecordQuery{App: app, Form: rf.Key, Filter: flt, Limit: len(in)})
		if err != nil {
			return nil, fmt.Errorf("relation labels: %w", err)
		}
		for _, r := range page.Items {
			l := relationLabel(fd, r.ID, redact(rf, racc, r.Data))
			ids[r.ID] = &l
		}
	}
	for i, data := range rows {
		for _, fd := range fields {
			v, _ := data[fd.Key].(string)
			if v == "" {
				continue
			}
			var l *Text
			switch fd.Widget {
			case WidgetMember:
				l = users[v]
			case WidgetUnit:
				l = units[v]
			case WidgetRelation:
				l = related[fd.Key][v]
			}
			if l != nil {
				out[i][fd.Key] = *l
			}
		}
	}
	return out, nil
}

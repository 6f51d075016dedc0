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
	if !acc.Can(OpRead) && !acc.Can(OpCreate) {
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
			if err != nil || !racc.Can(OpRead) {
				out[fd.Key] = relationUnseen
				continue
			}
			r, err := s.findInScope(ctx, app, rf, racc, v, false)
			if err != nil {
				out[fd.Key] = relationUnseen
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
// record (masked where masked there; a record outside p's scope reads
// relationUnseen). Fields p may not see in full are skipped.
func (s *Service) PickLabelsList(ctx context.Context, p *Principal, app, form string, rows []map[string]any) ([]map[string]Text, error) {
	b, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	return s.labelRows(ctx, p, b, app, labelFields(f, acc.Field), rows)
}

// LabelsAsShown is PickLabelsList for a view of a record whose field
// permissions are not p's own on the form but a workflow step's (perm
// gives them by field key): the workflow runtime calls it for the task
// it shows to its assignee. Related records are still read under p's own
// access to the related form.
func (s *Service) LabelsAsShown(ctx context.Context, p *Principal, app string, f *Form, rows []map[string]any, perm func(key string) string) ([]map[string]Text, error) {
	b, _, err := s.Bundle(ctx, app, 0)
	if err != nil {
		return nil, err
	}
	return s.labelRows(ctx, p, b, app, labelFields(f, perm), rows)
}

// labelRows labels the values of fields in rows (see PickLabelsList).
func (s *Service) labelRows(ctx context.Context, p *Principal, b *Bundle, app string, fields []*Field, rows []map[string]any) ([]map[string]Text, error) {
	pl := newPageLabels(fields, rows)
	if err := s.labelUsers(ctx, pl.users); err != nil {
		return nil, err
	}
	if err := s.labelUnits(ctx, pl.units); err != nil {
		return nil, err
	}
	for _, fd := range fields {
		if fd.Widget != WidgetRelation {
			continue
		}
		if err := s.labelRelated(ctx, p, b, app, fd, pl.related[fd.Key]); err != nil {
			return nil, err
		}
		for id, l := range pl.related[fd.Key] {
			if l == nil {
				pl.related[fd.Key][id] = &relationUnseen
			}
		}
	}
	return pl.byRow(fields, rows), nil
}

// relationUnseen stands for a related record p may not read (or that is
// gone): its id means nothing to a person and names a record.
var relationUnseen = T("（无权查看的关联记录）", "(a linked record you may not see)")

// labelFields returns the picker fields of f that perm shows in full.
func labelFields(f *Form, perm func(key string) string) []*Field {
	var fields []*Field
	for _, fd := range f.Fields {
		if p := perm(fd.Key); p == PermHidden || p == PermMasked {
			continue
		}
		if fd.Widget != WidgetMember && fd.Widget != WidgetUnit && (fd.Widget != WidgetRelation || fd.Relation == nil) {
			continue
		}
		fields = append(fields, fd)
	}
	return fields
}

// pageLabels holds the distinct picker values of a page of records, each
// with its label once found (nil until then).
type pageLabels struct {
	users   map[string]*Text
	units   map[string]*Text
	related map[string]map[string]*Text // relation field key → record id → label
}

// newPageLabels collects the distinct values of fields in rows.
func newPageLabels(fields []*Field, rows []map[string]any) *pageLabels {
	pl := &pageLabels{users: map[string]*Text{}, units: map[string]*Text{}, related: map[string]map[string]*Text{}}
	for _, fd := range fields {
		for _, data := range rows {
			v, _ := data[fd.Key].(string)
			if v == "" {
				continue
			}
			pl.of(fd)[v] = nil
		}
	}
	return pl
}

// of returns the values of fd's kind: users, units, or the records of
// relation fd.
func (pl *pageLabels) of(fd *Field) map[string]*Text {
	switch fd.Widget {
	case WidgetMember:
		return pl.users
	case WidgetUnit:
		return pl.units
	}
	m := pl.related[fd.Key]
	if m == nil {
		m = map[string]*Text{}
		pl.related[fd.Key] = m
	}
	return m
}

// byRow returns the labels found, by row and field key.
func (pl *pageLabels) byRow(fields []*Field, rows []map[string]any) []map[string]Text {
	out := make([]map[string]Text, len(rows))
	for i, data := range rows {
		out[i] = map[string]Text{}
		for _, fd := range fields {
			v, _ := data[fd.Key].(string)
			if v == "" {
				continue
			}
			if l := pl.of(fd)[v]; l != nil {
				out[i][fd.Key] = *l
			}
		}
	}
	return out
}

// labelUsers labels each user id in users with the user's name, one read
// per user; an unknown id keeps no label.
func (s *Service) labelUsers(ctx context.Context, users map[string]*Text) error {
	for id := range users {
		if u, err := s.org.FindUserByID(ctx, id); err == nil {
			users[id] = &Text{Zh: u.Name, En: u.Name}
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
	}
	return nil
}

// labelUnits labels each unit key in units with the unit's name, from one
// read of the unit tree.
func (s *Service) labelUnits(ctx context.Context, units map[string]*Text) error {
	if len(units) == 0 {
		return nil
	}
	all, err := s.org.ListUnits(ctx)
	if err != nil {
		return err
	}
	for _, u := range all {
		if _, ok := units[u.Key]; ok {
			name := u.Name
			units[u.Key] = &name
		}
	}
	return nil
}

// labelRelated labels the ids of the relation field fd with the related
// records' display field as p may see them, in one query scoped to p; ids
// of records p may not read keep no label.
func (s *Service) labelRelated(ctx context.Context, p *Principal, b *Bundle, app string, fd *Field, ids map[string]*Text) error {
	if len(ids) == 0 {
		return nil
	}
	rf := b.Form(fd.Relation.Form)
	if rf == nil {
		return nil
	}
	racc, err := s.useAccess(ctx, p, b, rf)
	if err != nil {
		return err
	}
	if !racc.Can(OpRead) {
		return nil
	}
	in := make([]any, 0, len(ids))
	for id := range ids {
		in = append(in, id)
	}
	var flt filter.Expr = filter.Cmp{Field: sysField("_id"), Op: filter.OpIn, Value: in}
	if scope := racc.ScopeFilter(); scope != nil {
		flt = filter.And{Items: []filter.Expr{scope, flt}}
	}
	page, err := s.store.FindRecords(ctx, RecordQuery{App: app, Form: rf.Key, Filter: flt, Limit: len(in), appVersion: s.formVersion(rf)})
	if err != nil {
		return fmt.Errorf("relation labels: %w", err)
	}
	for _, r := range page.Items {
		l := relationLabel(fd, r.ID, redact(rf, racc, r.Data))
		ids[r.ID] = &l
	}
	return nil
}

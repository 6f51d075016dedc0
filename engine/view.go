package engine

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// KindView is the doc kind of the list views users save.
const KindView = "list_view"

// maxViews is how many views one user may keep per form.
const maxViews = 50

// SavedView is a named list view of a form: the columns, conditions,
// search and sort a list opens with. Views come from the app bundle
// (Builtin, shown to everyone who may read the form) or are saved by a
// user, for themselves or shared with their unit. Opening a view never
// widens what the viewer may see: its conditions are checked and ANDed
// with the viewer's scope like any list query, and its columns are cut to
// the fields the viewer may see.
type SavedView struct {
	ID   string `json:"id"`
	App  string `json:"app"`
	Form string `json:"form"`
	Name Text   `json:"name"`
	ViewState
	Owner   string `json:"owner,omitempty"`
	Unit    string `json:"unit,omitempty"` // shared with this unit; empty: the owner's alone
	Builtin bool   `json:"builtin,omitempty"`
	Mine    bool   `json:"mine,omitempty"` // the caller owns it (may rename and delete it)
}

// ViewState is what a view sets on a list.
type ViewState struct {
	Columns []string        `json:"columns,omitempty"`
	Filter  json.RawMessage `json:"filter,omitempty"`
	Match   []FieldMatch    `json:"match,omitempty"`
	Search  string          `json:"search,omitempty"`
	Sort    string          `json:"sort,omitempty"`
}

// ViewInput is what a user sends to save a view.
type ViewInput struct {
	Name string `json:"name"`
	ViewState
	Shared bool `json:"shared,omitempty"` // share with the caller's unit
}

func viewTagOwner(app, form, user string) string { return "owner:" + app + "/" + form + "|" + user }
func viewTagUnit(app, form, unit string) string  { return "unit:" + app + "/" + form + "|" + unit }

// builtinViewID names a bundle view: bundle views and saved ones never
// share an id (saved ids carry no colon).
func builtinViewID(key string) string { return "app:" + key }

// ListViews returns the views of a form p may open: the bundle's first,
// then p's own, then those shared with p's unit, each group by name.
// ENOTFOUND when p may not read the form.
func (s *Service) ListViews(ctx context.Context, p *Principal, app, form string) ([]*SavedView, error) {
	b, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	if !acc.Can(OpRead) {
		return nil, notFoundForm(app, form)
	}
	var out []*SavedView
	for _, v := range b.Views {
		if v.Form != f.Key {
			continue
		}
		name := v.Name
		if name.Zh == "" && name.En == "" {
			name = T(v.Key, v.Key)
		}
		out = append(out, &SavedView{ID: builtinViewID(v.Key), App: app, Form: f.Key, Name: name,
			ViewState: ViewState{Columns: v.Columns, Filter: v.Filter, Sort: strings.Join(v.Sort, ",")}, Builtin: true})
	}
	seen := map[string]bool{}
	for _, tag := range []string{viewTagOwner(app, f.Key, p.User.ID), viewTagUnit(app, f.Key, p.User.Unit)} {
		docs, err := s.store.FindDocs(ctx, DocQuery{Kind: KindView, Tag: tag})
		if err != nil {
			return nil, err
		}
		var group []*SavedView
		for _, d := range docs {
			if seen[d.ID] {
				continue
			}
			seen[d.ID] = true
			var v SavedView
			if err := json.Unmarshal(d.Value, &v); err != nil {
				return nil, err
			}
			v.Mine = v.Owner == p.User.ID
			group = append(group, &v)
		}
		slices.SortFunc(group, func(a, b *SavedView) int { return strings.Compare(a.Name.Zh+a.Name.En, b.Name.Zh+b.Name.En) })
		out = append(out, group...)
	}
	return out, nil
}

// FindView returns one view p may open, by id. ENOTFOUND when there is
// none, or it is another user's and not shared with p's unit.
func (s *Service) FindView(ctx context.Context, p *Principal, app, form, id string) (*SavedView, error) {
	views, err := s.ListViews(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	for _, v := range views {
		if v.ID == id {
			return v, nil
		}
	}
	return nil, Errorf(ENOTFOUND, T("视图不存在", "view not found"))
}

// checkView validates in against the form as p may see it: a name, known
// columns p may see, and conditions, search and sort a list would accept
// from p (the same checks, audited alike when refused).
func (s *Service) checkView(ctx context.Context, p *Principal, app string, f *Form, acc *Access, in *ViewInput) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 50 {
		return Invalid(FieldError{Field: "/name", Code: "required", Message: T("视图名称须为 1 到 50 个字", "a view needs a name of 1 to 50 characters")})
	}
	if len(in.Columns) > 50 {
		return Invalid(FieldError{Field: "/columns", Code: "maxItems", Message: T("列太多", "too many columns")})
	}
	for i, c := range in.Columns {
		if f.Field(c) == nil || acc.Field(c) == PermHidden {
			return Invalid(FieldError{Field: "/columns/" + strconv.Itoa(i), Code: "unknown_field", Message: Tf("表单中没有字段 %q", "the form has no field %q", c)})
		}
	}
	if len(in.Match) > 100 {
		return Invalid(FieldError{Field: "/match", Code: "maxItems", Message: T("条件太多", "too many conditions")})
	}
	_, _, err := s.selection(ctx, p, "view.save", app, f, acc, ListQuery{Filter: in.Filter, Match: in.Match, Search: in.Search, Sort: in.Sort})
	return err
}

// SaveView stores a new view of p's on a form p may read, shared with p's
// unit when asked. EINVALID for a bad view, ENOTFOUND for a form p may not
// read, EFORBIDDEN for conditions on fields p may not see in full.
func (s *Service) SaveView(ctx context.Context, p *Principal, app, form string, in ViewInput) (*SavedView, error) {
	_, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	if !acc.Can(OpRead) {
		return nil, s.deny(ctx, p, "view.save", app, form, "", "no read permission", notFoundForm(app, form))
	}
	if err := s.checkView(ctx, p, app, f, acc, &in); err != nil {
		return nil, err
	}
	n, err := s.store.CountDocs(ctx, DocQuery{Kind: KindView, Tag: viewTagOwner(app, f.Key, p.User.ID)})
	if err != nil {
		return nil, err
	}
	if n >= maxViews {
		return nil, Invalid(FieldError{Field: "", Code: "maxItems", Message: Tf("每个表单最多保存 %d 个视图", "you may keep at most %d views of a form", maxViews)})
	}
	in.Search = strings.TrimSpace(in.Search)
	v := &SavedView{ID: NewID(s.now()), App: app, Form: f.Key, Name: T(in.Name, in.Name), ViewState: in.ViewState, Owner: p.User.ID}
	if in.Shared {
		v.Unit = p.User.Unit
	}
	if err := s.putView(ctx, p, v, 0, "view.save"); err != nil {
		return nil, err
	}
	v.Mine = true
	return v, nil
}

// putView writes v with its audit event in one change.
func (s *Service) putView(ctx context.Context, p *Principal, v *SavedView, expect int64, action string) error {
	tags := []string{viewTagOwner(v.App, v.Form, v.Owner)}
	if v.Unit != "" {
		tags = append(tags, viewTagUnit(v.App, v.Form, v.Unit))
	}
	stored := *v
	stored.Mine = false
	_, err := s.store.Apply(ctx, &Change{
		Docs:  []DocWrite{{Doc: Doc{Kind: KindView, ID: v.ID, Tags: tags, Value: MustJSON(stored)}, ExpectVersion: expect}},
		Audit: []*AuditEvent{s.Event(p, action, v.App, v.Form, v.ID, nil, ResultOK, "")},
	})
	return err
}

// ownView loads a saved view p owns. ENOTFOUND for a view p cannot
// open; EFORBIDDEN for one shared with p that another user owns.
func (s *Service) ownView(ctx context.Context, p *Principal, app, form, id, action string) (*SavedView, int64, error) {
	v, err := s.FindView(ctx, p, app, form, id)
	if err != nil {
		return nil, 0, err
	}
	if v.Builtin || v.Owner != p.User.ID {
		return nil, 0, s.deny(ctx, p, action, app, form, id, "not the view's owner",
			Forbidden(T("只能修改自己保存的视图", "you may only change views you saved")))
	}
	d, err := s.store.FindDoc(ctx, KindView, id)
	if err != nil {
		return nil, 0, err
	}
	return v, d.Version, nil
}

// RenameView renames, and shares or unshares, a view p saved.
// ENOTFOUND, EFORBIDDEN as ownView; EINVALID for a bad name.
func (s *Service) RenameView(ctx context.Context, p *Principal, app, form, id, name string, shared *bool) (*SavedView, error) {
	v, ver, err := s.ownView(ctx, p, app, form, id, "view.update")
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name != "" {
		if utf8.RuneCountInString(name) > 50 {
			return nil, Invalid(FieldError{Field: "/name", Code: "maxLength", Message: T("视图名称须为 1 到 50 个字", "a view needs a name of 1 to 50 characters")})
		}
		v.Name = T(name, name)
	}
	if shared != nil {
		v.Unit = ""
		if *shared {
			v.Unit = p.User.Unit
		}
	}
	if err := s.putView(ctx, p, v, ver, "view.update"); err != nil {
		return nil, err
	}
	v.Mine = true
	return v, nil
}

// DeleteView removes a view p saved. ENOTFOUND, EFORBIDDEN as ownView.
func (s *Service) DeleteView(ctx context.Context, p *Principal, app, form, id string) error {
	v, ver, err := s.ownView(ctx, p, app, form, id, "view.delete")
	if err != nil {
		return err
	}
	_, err = s.store.Apply(ctx, &Change{
		Docs:  []DocWrite{{Doc: Doc{Kind: KindView, ID: v.ID}, ExpectVersion: ver, Delete: true}},
		Audit: []*AuditEvent{s.Event(p, "view.delete", app, v.Form, v.ID, nil, ResultOK, "")},
	})
	return err
}

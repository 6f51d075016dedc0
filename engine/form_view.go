package engine

import (
	"context"
	"encoding/json"
)

// FieldView is a field as one user may see it.
type FieldView struct {
	Field *Field `json:"-"`
	Perm  string `json:"perm"`
}

// FormView is the published form as one user may see it: hidden fields
// absent, each field with the user's permission.
type FormView struct {
	App        string            `json:"app"`
	Key        string            `json:"key"`
	Version    int               `json:"version"`
	Title      Text              `json:"title"`
	Fields     []*FieldView      `json:"-"`
	Layout     []Section         `json:"layout,omitempty"`
	Operations []string          `json:"operations"`
	Schema     json.RawMessage   `json:"schema"`
	Perms      map[string]string `json:"fields"`
	Form       *Form             `json:"-"`
}

// FormView returns the published form as p may see it. ENOTFOUND when the
// app or form is missing or p may neither read nor create on it.
func (s *Service) FormView(ctx context.Context, p *Principal, app, form string) (*FormView, error) {
	_, v, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	if !acc.Can(OpRead) && !acc.Can(OpCreate) {
		return nil, s.deny(ctx, p, "form.view", app, form, "", "no read or create permission", notFoundForm(app, form))
	}
	return formViewOf(app, v, f, acc), nil
}

// formViewOf is f (version v of app) as acc lets its user see it.
func formViewOf(app string, v int, f *Form, acc *Access) *FormView {
	fv := &FormView{App: app, Key: f.Key, Version: v, Title: f.Title, Operations: acc.OperationList(), Perms: map[string]string{}, Form: f}
	hidden := map[string]bool{}
	for _, fd := range f.Fields {
		perm := acc.Field(fd.Key)
		if perm == PermHidden {
			hidden[fd.Key] = true
			continue
		}
		fv.Fields = append(fv.Fields, &FieldView{Field: fd, Perm: perm})
		fv.Perms[fd.Key] = perm
	}
	for _, sec := range f.Layout {
		ns := sec
		ns.Fields = nil
		for _, k := range sec.Fields {
			if !hidden[k] {
				ns.Fields = append(ns.Fields, k)
			}
		}
		if len(ns.Fields) > 0 {
			fv.Layout = append(fv.Layout, ns)
		}
	}
	fv.Schema = redactSchema(f.Raw, hidden)
	return fv
}

// redactSchema removes hidden fields (and their mentions in required and
// the layout) from a form document.
func redactSchema(raw json.RawMessage, hidden map[string]bool) json.RawMessage {
	if len(hidden) == 0 {
		return raw
	}
	var doc map[string]any
	if json.Unmarshal(raw, &doc) != nil {
		return raw
	}
	if props, ok := doc["properties"].(map[string]any); ok {
		for k := range hidden {
			delete(props, k)
		}
		// a rule that names a hidden field would reveal it: the server
		// evaluates rules, so the view drops such expressions
		for _, p := range props {
			pm, ok := p.(map[string]any)
			if !ok {
				continue
			}
			for _, kw := range []string{"x-visible", "x-required", "x-readonly", "x-compute"} {
				if src, ok := pm[kw].(string); ok && mentionsAny(src, hidden) {
					delete(pm, kw)
				}
			}
		}
	}
	if req, ok := doc["required"].([]any); ok {
		var keep []any
		for _, r := range req {
			if s, _ := r.(string); !hidden[s] {
				keep = append(keep, r)
			}
		}
		doc["required"] = keep
	}
	if lay, ok := doc["x-layout"].([]any); ok {
		for _, sec := range lay {
			if m, ok := sec.(map[string]any); ok {
				if fs, ok := m["fields"].([]any); ok {
					var keep []any
					for _, k := range fs {
						if s, _ := k.(string); !hidden[s] {
							keep = append(keep, k)
						}
					}
					m["fields"] = keep
				}
			}
		}
	}
	// checks may name hidden fields in their expressions: drop them from the view
	delete(doc, "x-checks")
	return MustJSON(doc)
}

func notFoundForm(app, form string) error {
	return Errorf(ENOTFOUND, Tf("表单 %s/%s 不存在", "form %s/%s does not exist", app, form))
}

// formAccess loads the current bundle and the user's access to one form.
func (s *Service) formAccess(ctx context.Context, p *Principal, app, form string) (*Bundle, int, *Form, *Access, error) {
	if p == nil || p.User == nil {
		return nil, 0, nil, nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	b, v, f, err := s.publishedFormAt(ctx, app, s.currentFor(p, app), form)
	if err != nil {
		return nil, 0, nil, nil, err
	}
	acc, err := s.useAccess(ctx, p, b, f)
	if err != nil {
		return nil, 0, nil, nil, err
	}
	return b, v, f, acc, nil
}

// publishedForm returns an app's current bundle, its version and one of
// its forms; ENOTFOUND when the app or the form is missing.
func (s *Service) publishedForm(ctx context.Context, app, form string) (*Bundle, int, *Form, error) {
	return s.publishedFormAt(ctx, app, 0, form)
}

// publishedFormAt is publishedForm of a known current version (0: read
// which one is current).
func (s *Service) publishedFormAt(ctx context.Context, app string, version int, form string) (*Bundle, int, *Form, error) {
	b, v, err := s.Bundle(ctx, app, version)
	if err != nil {
		return nil, 0, nil, err
	}
	f := b.Form(form)
	if f == nil {
		return nil, 0, nil, notFoundForm(app, form)
	}
	return b, v, f, nil
}

// currentFor is the app's current version as p's request's
// authentication read it (Principal.AppDoc), when this node knows the
// version at that app doc version; 0 when it must be read.
func (s *Service) currentFor(p *Principal, app string) int {
	if d := p.AppDoc; d != nil && d.App == app {
		if v, ok := s.access.appAt(app, d.Version); ok {
			return v
		}
	}
	return 0
}

// mentionsAny reports whether an expression names any of the keys as an identifier.
func mentionsAny(src string, keys map[string]bool) bool {
	isIdent := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i := 0; i < len(src); {
		if !isIdent(src[i]) {
			i++
			continue
		}
		j := i
		for j < len(src) && isIdent(src[j]) {
			j++
		}
		if keys[src[i:j]] {
			return true
		}
		i = j
	}
	return false
}

// CreateFields are fields as a new record's form takes them: a field the
// user may see only masked is entered on create (they know what they
// type; the service lets it, see checkWritable) and never changed after,
// so there it is editable.
func CreateFields(fields []*FieldView) []*FieldView {
	out := make([]*FieldView, len(fields))
	for i, f := range fields {
		out[i] = f
		if f.Perm == PermMasked {
			out[i] = &FieldView{Field: f.Field, Perm: PermEdit}
		}
	}
	return out
}

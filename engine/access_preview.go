package engine

import (
	"context"
	"strings"
)

// PreviewSubject is whom a designer previews a form as: a real user (id or
// email), or a stand-in holding one role of the app in one unit.
type PreviewSubject struct {
	User string `json:"user,omitempty"`
	Role string `json:"role,omitempty"`
	Unit string `json:"unit,omitempty"`
}

// PreviewField is one field as the previewed person sees it.
type PreviewField struct {
	Key   string `json:"key"`
	Label Text   `json:"label"`
	Perm  string `json:"perm"` // read, edit or masked; hidden fields are absent
	FieldState
}

// FormPreview is a form of a bundle (a draft, not yet published) as one
// person would see it: the operations they would have, the fields they
// would see with their permission and state under the rules, and the
// sample data evaluated and then masked and cut as it would be shown to
// them.
type FormPreview struct {
	Form       string         `json:"form"`
	Title      Text           `json:"title"`
	As         Text           `json:"as"` // the user's name, or "role @ unit"
	Operations []string       `json:"operations"`
	Scope      []AccessRule   `json:"rules"`
	Fields     []PreviewField `json:"fields"`
	Data       map[string]any `json:"data"`
	Errors     []FieldError   `json:"errors"`
	// Rows: the states of subform columns with rules, by row
	Rows map[string][]map[string]FieldState `json:"rows,omitempty"`
}

// PreviewForm shows form of bundle b as subject would see it, with data
// (the sample values typed in the designer) evaluated by the form's rules.
// It decides nothing about who may preview: the designer asks after
// checking the caller may design the app. Nothing is written. EINVALID for
// an unknown form, role, unit or user.
func (s *Service) PreviewForm(ctx context.Context, b *Bundle, form string, subject PreviewSubject, data map[string]any) (*FormPreview, error) {
	f := b.Form(form)
	if f == nil {
		return nil, Invalid(FieldError{Field: "/form", Code: "not_found", Message: Tf("没有表单 %s", "there is no form %s", form)})
	}
	u, as, err := s.PreviewUser(ctx, b, subject)
	if err != nil {
		return nil, err
	}
	acc, err := s.accessOf(ctx, u, "", b, f)
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = map[string]any{}
	}
	res := b.Compiled(f.Key).Evaluate(EvalInput{Data: CloneData(data), Now: s.now(), TZ: s.zone, User: UserEnvFor(u, b.App.Key),
		System: map[string]any{"_unit": u.Unit, "_owner": u.ID, "_status": StatusActive}})
	out := &FormPreview{Form: f.Key, Title: f.Title, As: as, Operations: acc.OperationList(), Scope: acc.Trace,
		Data: redact(f, acc, res.Data), Errors: res.Errors}
	states := res.FieldMap()
	for _, fd := range f.Fields {
		perm := acc.Field(fd.Key)
		if perm == PermHidden {
			continue
		}
		out.Fields = append(out.Fields, PreviewField{Key: fd.Key, Label: fd.LabelOr(), Perm: perm, FieldState: states[fd.Key]})
		if rows, ok := res.Rows[fd.Key]; ok {
			if out.Rows == nil {
				out.Rows = map[string][]map[string]FieldState{}
			}
			out.Rows[fd.Key] = rows
		}
	}
	if out.Operations == nil {
		out.Operations = []string{}
	}
	if out.Errors == nil {
		out.Errors = []FieldError{}
	}
	return out, nil
}

// PreviewUser is the user a designer's preview or simulation stands for:
// the real one, read afresh (their roles in the app as they are now), or a
// stand-in with one role of b in one unit; with a name to show. EINVALID
// for an unknown user, role or unit.
func (s *Service) PreviewUser(ctx context.Context, b *Bundle, subject PreviewSubject) (*User, Text, error) {
	if ref := strings.TrimSpace(subject.User); ref != "" {
		u, err := s.findUserRef(ctx, ref)
		if err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return nil, Text{}, Invalid(FieldError{Field: "/as/user", Code: "not_found", Message: Tf("没有用户 %s", "there is no user %s", ref)})
			}
			return nil, Text{}, err
		}
		return u, T(u.Name, u.Name), nil
	}
	role := b.Role(subject.Role)
	if role == nil {
		return nil, Text{}, Invalid(FieldError{Field: "/as/role", Code: "not_found", Message: Tf("应用中没有角色 %s", "the app has no role %s", subject.Role)})
	}
	unit, err := s.org.FindUnit(ctx, subject.Unit)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Text{}, Invalid(FieldError{Field: "/as/unit", Code: "not_found", Message: Tf("没有单位 %s", "there is no unit %s", subject.Unit)})
		}
		return nil, Text{}, err
	}
	u := &User{ID: "preview:" + role.Key, Name: role.Name.In("zh"), Unit: unit.Key, Roles: map[string][]string{b.App.Key: {role.Key}}}
	return u, T(role.Name.In("zh")+" @ "+unit.Name.In("zh"), role.Name.In("en")+" @ "+unit.Name.In("en")), nil
}

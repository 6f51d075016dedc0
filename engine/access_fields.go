package engine

import "context"

// VisibleFields answers which fields of a form p may see: each field p may
// read, edit or see masked, with that permission; hidden fields are
// absent. The record history and the workflow timeline name only these.
// It is a question: it writes no audit event. ENOTFOUND when the app or
// form is missing, EUNAUTHORIZED without a user.
func (s *Service) VisibleFields(ctx context.Context, p *Principal, app, form string) (map[string]string, error) {
	if p == nil || p.User == nil {
		return nil, Errorf(EUNAUTHORIZED, T("请先登录", "please log in"))
	}
	b, _, f, err := s.publishedForm(ctx, app, form)
	if err != nil {
		return nil, err
	}
	acc, err := s.resolveAccess(ctx, p, b, f)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, fd := range f.Fields {
		if perm := acc.Field(fd.Key); perm != PermHidden {
			out[fd.Key] = perm
		}
	}
	return out, nil
}

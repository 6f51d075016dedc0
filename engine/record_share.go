package engine

import "context"

// RecordShare is a read of one record that a user holds outside their
// roles: a workflow step copied them in (CC). Fields gives what the share
// shows of each field (read or masked; a field left out is hidden). A
// share only ever lets its holder read that one record: it adds no
// operation, no scope and no field to any other path.
type RecordShare struct {
	Fields map[string]string
	Reason string // why, for the audit event ("cc" and the workflow run)
}

// RecordShareHook answers whether u holds a share of record id of form f
// in app: nil when not. The workflow runtime registers one for CCs.
type RecordShareHook func(ctx context.Context, u *User, app string, f *Form, id string) (*RecordShare, error)

// AddRecordShareHook registers a share hook; call it before serving
// requests.
func (s *Service) AddRecordShareHook(h RecordShareHook) { s.shareHooks = append(s.shareHooks, h) }

// shareAccess is what the shares p holds of one record let them do: read
// it, with every hook's fields merged (the highest wins), never edit. Nil
// when p holds no share; the reason names the first share.
func (s *Service) shareAccess(ctx context.Context, p *Principal, app string, f *Form, id string) (*Access, string, error) {
	if p == nil || p.User == nil || p.User.Auditor || p.User.Frozen {
		return nil, "", nil
	}
	var acc *Access
	reason := ""
	for _, h := range s.shareHooks {
		sh, err := h(ctx, p.User, app, f, id)
		if err != nil {
			return nil, "", err
		}
		if sh == nil {
			continue
		}
		if acc == nil {
			acc = &Access{All: true, Ops: map[string]bool{OpRead: true}, Fields: map[string]string{}}
			reason = sh.Reason
		}
		for _, fd := range f.Fields {
			perm, ok := sh.Fields[fd.Key]
			if !ok {
				continue
			}
			if perm == PermEdit {
				perm = PermRead
			}
			if PermRank(perm) > PermRank(acc.Fields[fd.Key]) || acc.Fields[fd.Key] == "" {
				acc.Fields[fd.Key] = perm
			}
		}
		acc.Trace = append(acc.Trace, AccessRule{Source: "share", Ops: []string{OpRead}, Scope: ScopeAll, Applies: true, Reason: sh.Reason})
	}
	return acc, reason, nil
}

// sharedRecord reads a record p holds a share of, as the share shows it,
// and audits the view with the share's reason. Nil, nil when p holds none
// (or the record is gone): the caller denies as it would have.
func (s *Service) sharedRecord(ctx context.Context, p *Principal, app string, f *Form, id string) (*RecordView, error) {
	acc, reason, err := s.shareAccess(ctx, p, app, f, id)
	if err != nil || acc == nil {
		return nil, err
	}
	r, err := s.findInScope(ctx, app, f, acc, id, false)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, nil
		}
		return nil, err
	}
	if err := s.audit.Write(ctx, s.Event(p, "view", app, f.Key, id, nil, ResultOK, reason)); err != nil {
		return nil, err
	}
	return viewOf(r, f, acc), nil
}

// RecordFormView is form of app as p may see it on the page of record id:
// the form through p's roles (as FormView) when they may read or create,
// else through a share p holds of that record (read-only, no operations);
// ENOTFOUND when neither.
func (s *Service) RecordFormView(ctx context.Context, p *Principal, app, form, id string) (*FormView, error) {
	_, v, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	if !acc.Can(OpRead) && !acc.Can(OpCreate) {
		sh, _, err := s.shareAccess(ctx, p, app, f, id)
		if err != nil {
			return nil, err
		}
		if sh == nil {
			return nil, s.deny(ctx, p, "form.view", app, form, id, "no read or create permission", notFoundForm(app, form))
		}
		acc = sh
		acc.Ops = map[string]bool{} // the page offers nothing to do
	}
	return formViewOf(app, v, f, acc), nil
}

package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"formwork/engine"
)

// resolve turns a node's assignee spec into user ids, in a stable order
// and without duplicates; frozen users are left out. An empty result is
// the caller's to escalate.
//
//   - roles: the holders of each role in the app who sit in the
//     submitter's unit or, failing that, the nearest ancestor unit that has
//     holders; when no unit on that chain has any, every holder;
//   - users: ids or emails;
//   - unit_head: the head of the submitter's unit, levels_up units above it;
//   - field: the user id (or email) in a member field of the record; a
//     built-in request names several, joined by commas.
func (w *Runtime) resolve(ctx context.Context, tx *wfTx, a *engine.Assignees) ([]string, error) {
	return w.assignees(ctx, tx.inst.App, tx.inst.SubmitterUnit, tx.rec.Data, a)
}

// assignees resolves a in app for a submitter in unit, the member fields
// read from data (see resolve).
func (w *Runtime) assignees(ctx context.Context, app, unit string, data map[string]any, a *engine.Assignees) ([]string, error) {
	if a == nil {
		return nil, nil
	}
	var out []string
	add := func(u *engine.User) {
		if u != nil && !u.Frozen && !slices.Contains(out, u.ID) {
			out = append(out, u.ID)
		}
	}
	for _, role := range a.Roles {
		users, err := w.roleHolders(ctx, app, role, unit)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			add(u)
		}
	}
	for _, ref := range a.Users {
		u, err := w.findUser(ctx, ref)
		if err != nil {
			return nil, err
		}
		add(u)
	}
	if a.UnitHead != "" {
		chain, err := w.unitChain(ctx, unit)
		if err != nil {
			return nil, err
		}
		if a.LevelsUp < len(chain) {
			if head := chain[a.LevelsUp].Head; head != "" {
				u, err := w.findUser(ctx, head)
				if err != nil {
					return nil, err
				}
				add(u)
			}
		}
	}
	if a.Field != "" {
		v, _ := data[a.Field].(string)
		for _, ref := range strings.Split(v, ",") {
			if ref = strings.TrimSpace(ref); ref == "" {
				continue
			}
			u, err := w.findUser(ctx, ref)
			if err != nil {
				return nil, err
			}
			add(u)
		}
	}
	return out, nil
}

// findUser looks a user up by id or email; nil when there is none.
func (w *Runtime) findUser(ctx context.Context, ref string) (*engine.User, error) {
	var u *engine.User
	var err error
	if strings.Contains(ref, "@") {
		u, err = w.org.FindUserByEmail(ctx, ref)
	} else {
		u, err = w.org.FindUserByID(ctx, ref)
	}
	if err != nil {
		if engine.ErrorCode(err) == engine.ENOTFOUND {
			return nil, nil
		}
		return nil, fmt.Errorf("resolve assignee %s: %w", ref, err)
	}
	return u, nil
}

// unitChain returns the unit and its ancestors, nearest first.
func (w *Runtime) unitChain(ctx context.Context, key string) ([]*engine.Unit, error) {
	u, err := w.org.FindUnit(ctx, key)
	if err != nil {
		if engine.ErrorCode(err) == engine.ENOTFOUND {
			return nil, nil
		}
		return nil, fmt.Errorf("resolve assignees: unit %s: %w", key, err)
	}
	anc, err := w.org.Ancestors(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("resolve assignees: ancestors of %s: %w", key, err)
	}
	chain := []*engine.Unit{u}
	for i := len(anc) - 1; i >= 0; i-- {
		chain = append(chain, anc[i])
	}
	return chain, nil
}

// roleHolders returns the holders of a role nearest to unit (see resolve).
func (w *Runtime) roleHolders(ctx context.Context, app, role, unit string) ([]*engine.User, error) {
	docs, err := w.store.FindDocs(ctx, engine.DocQuery{Kind: engine.KindUser, Tag: "role:" + app + "/" + role})
	if err != nil {
		return nil, fmt.Errorf("resolve role %s: %w", role, err)
	}
	var all []*engine.User
	byUnit := map[string][]*engine.User{}
	for _, d := range docs {
		u, err := engine.UserFromDoc(d)
		if err != nil {
			return nil, err
		}
		if u.Frozen {
			continue
		}
		all = append(all, u)
		byUnit[u.Unit] = append(byUnit[u.Unit], u)
	}
	chain, err := w.unitChain(ctx, unit)
	if err != nil {
		return nil, err
	}
	for _, c := range chain {
		if us := byUnit[c.Key]; len(us) > 0 {
			return us, nil
		}
	}
	return all, nil
}

// admins returns the system administrators, who take over a node nobody
// else can approve.
func (w *Runtime) admins(ctx context.Context) ([]string, error) {
	docs, err := w.store.FindDocs(ctx, engine.DocQuery{Kind: engine.KindUser, Tag: "admin"})
	if err != nil {
		return nil, fmt.Errorf("resolve administrators: %w", err)
	}
	var out []string
	for _, d := range docs {
		u, err := engine.UserFromDoc(d)
		if err != nil {
			return nil, err
		}
		if !u.Frozen {
			out = append(out, u.ID)
		}
	}
	return out, nil
}

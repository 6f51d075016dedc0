package workflow

import (
	"context"
	"maps"
	"slices"
	"time"

	"formwork/engine"
)

// SimUser is someone a simulated step would ask or inform.
type SimUser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// SimStep is one step of a simulated run.
type SimStep struct {
	Node      string      `json:"node"`
	Type      string      `json:"type"`
	Name      engine.Text `json:"name"`
	Mode      string      `json:"mode,omitempty"`      // approval: any, all or sequence
	Users     []SimUser   `json:"users,omitempty"`     // approvers, or those a CC informs
	Escalated bool        `json:"escalated,omitempty"` // nobody matched: the administrators would be asked
	Branch    *int        `json:"branch,omitempty"`    // condition: the branch taken, -1 for none
	Parallel  [][]SimStep `json:"parallel,omitempty"`  // parallel: each branch's steps
	Sets      []string    `json:"sets,omitempty"`      // action: the fields it sets
	Plugin    string      `json:"plugin,omitempty"`    // action: the plugin it calls
}

// Simulation is the path a record would take through a workflow.
type Simulation struct {
	Workflow string    `json:"workflow"`
	Starts   bool      `json:"starts"` // whether the trigger's condition holds for the record
	Steps    []SimStep `json:"steps"`
}

// Simulate shows the path a record with data, created by submitter, would
// take through workflow key of bundle b (a draft, not yet published) if
// every approval were approved: the branches its conditions choose, whom
// each approval and CC would reach (the administrators when nobody
// matches), what its actions set (applied, so later conditions see it).
// The form's rules run first, as on a create. Nothing is written and no
// one is notified. EINVALID for an unknown workflow.
func Simulate(ctx context.Context, svc *engine.Service, b *engine.Bundle, key string, submitter *engine.User, data map[string]any) (*Simulation, error) {
	var wf *engine.Workflow
	for _, w := range b.Workflows {
		if w.Key == key {
			wf = w
		}
	}
	if wf == nil {
		return nil, engine.Invalid(engine.FieldError{Field: "/workflow", Code: "not_found", Message: engine.Tf("没有流程 %s", "there is no workflow %s", key)})
	}
	cf := b.Compiled(wf.Form)
	if cf == nil {
		return nil, engine.Invalid(engine.FieldError{Field: "/workflow", Code: "form", Message: engine.Tf("流程 %s 的表单不存在", "the form of workflow %s does not exist", key)})
	}
	now := svc.Now()
	user := engine.UserEnvFor(submitter, b.App.Key)
	res := cf.Evaluate(engine.EvalInput{Data: engine.CloneData(data), Now: now, User: user,
		System: map[string]any{"_unit": submitter.Unit, "_owner": submitter.ID, "_status": engine.StatusActive}, NoFieldMap: true})
	rec := &engine.Record{App: b.App.Key, Form: wf.Form, Unit: submitter.Unit, Owner: submitter.ID, Status: engine.StatusActive, Data: res.Data}
	if rec.Data == nil {
		rec.Data = map[string]any{}
	}
	w := &Runtime{svc: svc, store: svc.Store(), org: svc.Org(), now: svc.Now, progs: map[progKey]*engine.Program{}}
	s := &simulator{ctx: ctx, now: now, user: user, w: w,
		tx: &wfTx{w: w, ctx: ctx, now: now, inst: &Instance{App: b.App.Key, Form: wf.Form, SubmitterUnit: submitter.Unit}, rec: rec, cf: cf, submitter: submitter},
	}
	out := &Simulation{Workflow: wf.Key, Steps: []SimStep{}}
	starts, err := s.w.evalBool(cf, wf.Trigger.When, rec, user, now)
	if err != nil {
		return nil, engine.Invalid(engine.FieldError{Field: "/workflow/trigger/when", Code: "expr", Message: engine.T("触发条件无法计算", "the trigger's condition cannot be worked out")})
	}
	out.Starts = starts
	if !starts {
		return out, nil
	}
	out.Steps, _, err = s.walk(wf.Nodes)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// simulator walks a workflow's nodes for one record without writing.
type simulator struct {
	ctx  context.Context
	now  time.Time
	user engine.UserEnv
	w    *Runtime
	tx   *wfTx
}

// walk returns the steps of nodes in order; ended is true when an end
// node was reached.
func (s *simulator) walk(nodes []*engine.Node) (steps []SimStep, ended bool, err error) {
	for _, n := range nodes {
		st := SimStep{Node: n.Key, Type: n.Type}
		if n.Name != nil {
			st.Name = *n.Name
		} else {
			st.Name = engine.T(n.Key, n.Key)
		}
		switch n.Type {
		case engine.NodeApproval:
			st.Mode = n.Mode
			if st.Mode == "" {
				st.Mode = ModeAny
			}
			ids, err := s.w.resolve(s.ctx, s.tx, n.Assignees)
			if err != nil {
				return nil, false, err
			}
			ids, _ = dropSubmitter(n, ids, s.tx.submitter.ID) // the submitter never decides their own record
			if len(ids) == 0 {
				st.Escalated = true
				if ids, err = s.w.admins(s.ctx); err != nil {
					return nil, false, err
				}
				ids, _ = dropSubmitter(n, ids, s.tx.submitter.ID)
			}
			if st.Users, err = s.users(ids); err != nil {
				return nil, false, err
			}
			steps = append(steps, st)
		case engine.NodeCC:
			ids, err := s.w.resolve(s.ctx, s.tx, n.To)
			if err != nil {
				return nil, false, err
			}
			if st.Users, err = s.users(ids); err != nil {
				return nil, false, err
			}
			steps = append(steps, st)
		case engine.NodeCondition:
			taken, err := s.tx.branch(n)
			if err != nil {
				return nil, false, err
			}
			st.Branch = &taken
			steps = append(steps, st)
			if taken >= 0 {
				inner, end, err := s.walk(n.Branches[taken].Nodes)
				if err != nil {
					return nil, false, err
				}
				steps = append(steps, inner...)
				if end {
					return steps, true, nil
				}
			}
		case engine.NodeParallel:
			for _, br := range n.Branches {
				inner, _, err := s.walk(br.Nodes)
				if err != nil {
					return nil, false, err
				}
				st.Parallel = append(st.Parallel, inner)
			}
			steps = append(steps, st)
		case engine.NodeAction:
			st.Sets = slices.Sorted(maps.Keys(n.Set))
			if n.Plugin != nil {
				st.Plugin = n.Plugin.Name
			}
			for _, k := range st.Sets {
				fd := s.tx.cf.Form.Field(k)
				if fd == nil {
					continue
				}
				v, err := s.w.fieldValue(s.tx.cf, n.Set[k], fd, s.tx.rec, s.user, s.now)
				if err != nil {
					return nil, false, err
				}
				if v == nil {
					delete(s.tx.rec.Data, k)
				} else {
					s.tx.rec.Data[k] = v
				}
			}
			steps = append(steps, st)
		case engine.NodeEnd:
			return append(steps, st), true, nil
		}
	}
	return steps, false, nil
}

// users names the users of ids.
func (s *simulator) users(ids []string) ([]SimUser, error) {
	out := make([]SimUser, 0, len(ids))
	for _, id := range ids {
		u, err := s.w.findUser(s.ctx, id)
		if err != nil {
			return nil, err
		}
		if u != nil {
			out = append(out, SimUser{ID: u.ID, Name: u.Name})
		}
	}
	return out, nil
}

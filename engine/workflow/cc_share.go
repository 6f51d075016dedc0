package workflow

import (
	"context"
	"fmt"
	"slices"

	"formwork/engine"
)

// ccShare is the engine's record share hook (engine.RecordShareHook): a
// user a CC step of a workflow run on the record copied in may read that
// record, as the CC node shows its fields (nodeFieldPerm: every field
// read, sensitive ones masked, unless the node says otherwise). The run's
// steps are the evidence, so the share lasts as long as the record and
// reaches no other record.
func (w *Runtime) ccShare(ctx context.Context, u *engine.User, app string, f *engine.Form, id string) (*engine.RecordShare, error) {
	insts, err := w.instancesOf(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("cc share: %w", err)
	}
	var out *engine.RecordShare
	for _, in := range insts {
		if in.App != app || in.Form != f.Key {
			continue
		}
		for _, s := range in.Steps {
			if s.Kind != "cc" || !slices.Contains(s.Users, u.ID) {
				continue
			}
			n := w.nodeOf(ctx, in, s.Node)
			if out == nil {
				out = &engine.RecordShare{Fields: map[string]string{}, Reason: "cc " + in.ID}
			}
			for _, fd := range f.Fields {
				perm := nodeFieldPerm(n, fd)
				if cur, ok := out.Fields[fd.Key]; !ok || engine.PermRank(perm) > engine.PermRank(cur) {
					out.Fields[fd.Key] = perm
				}
			}
		}
	}
	return out, nil
}

// nodeOf is the node with key of the workflow in runs, in the app version
// it runs on; nil when that version or node is gone.
func (w *Runtime) nodeOf(ctx context.Context, in *Instance, key string) *engine.Node {
	b, _, err := w.svc.Bundle(ctx, in.App, in.FormVersion)
	if err != nil {
		return nil
	}
	wf := b.Workflow(in.Workflow)
	if wf == nil {
		return nil
	}
	if path := pathOf(wf, key); path != nil {
		return nodeAt(wf, path)
	}
	return nil
}

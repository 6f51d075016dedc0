package engine

import (
	"context"
	"maps"
	"reflect"
	"slices"
)

// FillValue is what a relation's x-fill puts into one field of the form
// when a record is picked, as the person picking may see the picked
// record.
type FillValue struct {
	Value any `json:"value"` // nil: the field is emptied
	// Masked says the picker sees the source masked: Value is the masked
	// text, to show and never to store. A write leaves the field empty
	// instead (see applyFills).
	Masked bool `json:"masked,omitempty"`
}

// Fill returns what picking record id in the relation field of form fills
// in for p (this form's field → value): the related record read in p's
// scope, each source field as p may see it (hidden ones left out, masked
// ones masked), into the fields p may enter on a new record. ENOTFOUND
// when p may not use the field or read the record (no existence oracle).
// The read of the related record is audited as a view.
func (s *Service) Fill(ctx context.Context, p *Principal, app, form, field, id string) (map[string]FillValue, error) {
	if _, _, err := s.pickField(ctx, p, app, form, field); err != nil {
		return nil, err
	}
	b, _, f, acc, err := s.formAccess(ctx, p, app, form)
	if err != nil {
		return nil, err
	}
	fd := f.Field(field)
	if fd.Widget != WidgetRelation || len(fd.Fill) == 0 {
		return map[string]FillValue{}, nil
	}
	vals, ev, err := s.fillValues(ctx, p, b, acc, fd, id, true)
	if err != nil {
		return nil, err
	}
	if ev == nil {
		return nil, notFoundRecord()
	}
	if err := s.audit.Write(ctx, ev); err != nil {
		return nil, err
	}
	return vals, nil
}

// fillValues reads record id of fd's related form as p may see it and
// returns what fd's x-fill puts into this form (acc is p's access to it;
// creating allows fields p may only enter on a new record), with the
// audit event of the read. Both are nil when p may not read the record.
func (s *Service) fillValues(ctx context.Context, p *Principal, b *Bundle, acc *Access, fd *Field, id string, creating bool) (map[string]FillValue, *AuditEvent, error) {
	rf := b.Form(fd.Relation.Form)
	if rf == nil {
		return nil, nil, nil
	}
	racc, err := s.useAccess(ctx, p, b, rf)
	if err != nil {
		return nil, nil, err
	}
	if !racc.Can(OpRead) {
		return nil, nil, nil
	}
	r, err := s.findInScope(ctx, b.App.Key, rf, racc, id, false)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	out := map[string]FillValue{}
	var read []string
	for _, from := range slices.Sorted(maps.Keys(fd.Fill)) {
		to := fd.Fill[from]
		if perm := acc.Field(to); perm != PermEdit && !(creating && perm == PermMasked) {
			continue // the picker could not enter it either
		}
		v := r.Data[from]
		switch racc.Field(from) {
		case PermEdit, PermRead:
			out[to] = FillValue{Value: CloneValue(v)}
		case PermMasked:
			out[to] = FillValue{Value: Mask(rf.Field(from).Sensitive, v), Masked: v != nil}
		default:
			continue // hidden: nothing of it reaches this form
		}
		read = append(read, from)
	}
	return out, s.Event(p, "view", b.App.Key, rf.Key, r.ID, read, ResultOK, "x-fill"), nil
}

// applyFills runs the x-fill of each relation that data sets or changes
// (against prev, the stored data; nil on create), as p may see the picked
// record: a value p sees in full is copied; a value p sees masked is not
// stored at all (the field is emptied, unless p typed a value of their own
// there: the masked text, or what the field held for the record picked
// before, is dropped); a source hidden from p leaves the field as sent;
// a record p may not read fills nothing. It returns the audit events of
// the reads, for the write's change.
func (s *Service) applyFills(ctx context.Context, p *Principal, b *Bundle, f *Form, acc *Access, data, prev map[string]any) ([]*AuditEvent, error) {
	var events []*AuditEvent
	for _, fd := range f.Fields {
		if len(fd.Fill) == 0 || fd.Relation == nil || fd.Widget != WidgetRelation {
			continue
		}
		id, _ := data[fd.Key].(string)
		if id == "" {
			continue
		}
		if prev != nil {
			if old, _ := prev[fd.Key].(string); old == id {
				continue // not picked again: what the fields hold is the user's
			}
		}
		vals, ev, err := s.fillValues(ctx, p, b, acc, fd, id, prev == nil)
		if err != nil {
			return nil, err
		}
		if ev == nil {
			continue
		}
		events = append(events, ev)
		for to, fv := range vals {
			switch {
			case fv.Masked:
				if sent := data[to]; sent == nil || sent == "" || reflect.DeepEqual(sent, fv.Value) || (prev != nil && reflect.DeepEqual(sent, prev[to])) {
					delete(data, to)
				}
			case fv.Value == nil:
				delete(data, to)
			default:
				data[to] = fv.Value
			}
		}
	}
	return events, nil
}

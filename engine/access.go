package engine

import (
	"context"
	"sort"

	"formwork/engine/filter"
)

// Access is what one user may do on one form: the union of their roles'
// permissions (plus, later, unexpired temporary grants).
type Access struct {
	Ops    map[string]bool
	All    bool          // scope covers every record
	Scopes []filter.Expr // otherwise: a record is in scope when any holds
	Fields map[string]string
	Roles  []string // the roles that contributed
	Admin  bool
}

// Can reports whether the operation is allowed.
func (a *Access) Can(op string) bool { return a.Ops[op] }

// Field returns the permission on a field key.
func (a *Access) Field(key string) string {
	if p, ok := a.Fields[key]; ok {
		return p
	}
	return PermHidden
}

// ScopeFilter returns the filter that limits records to the scope; nil
// means all records.
func (a *Access) ScopeFilter() filter.Expr {
	if a.All {
		return nil
	}
	if len(a.Scopes) == 0 {
		return filter.Or{} // nothing
	}
	if len(a.Scopes) == 1 {
		return a.Scopes[0]
	}
	return filter.Or{Items: a.Scopes}
}

// OperationList returns the allowed operations in a stable order.
func (a *Access) OperationList() []string {
	var out []string
	for _, op := range []string{OpnCreate, OpnRead, OpnUpdate, OpnDelete, OpnExport, OpnImport, OpnPrint} {
		if a.Ops[op] {
			out = append(out, op)
		}
	}
	return out
}

var allOps = []string{OpnCreate, OpnRead, OpnUpdate, OpnDelete, OpnExport, OpnImport, OpnPrint}

// resolveAccess computes a user's access to a form of a loaded bundle.
func (s *Service) resolveAccess(ctx context.Context, u *User, b *Bundle, f *Form) (*Access, error) {
	a := &Access{Ops: map[string]bool{}, Fields: map[string]string{}}
	if u.Admin {
		a.Admin, a.All = true, true
		for _, op := range allOps {
			a.Ops[op] = true
		}
		for _, fd := range f.Fields {
			a.Fields[fd.Key] = PermEdit
		}
		return a, nil
	}
	var vars *filter.Vars
	for _, rk := range u.Roles[b.App.Key] {
		r := b.Role(rk)
		if r == nil {
			continue
		}
		p := r.Permissions[f.Key]
		if p == nil {
			continue
		}
		a.Roles = append(a.Roles, rk)
		for _, op := range p.Operations {
			a.Ops[op] = true
		}
		def := PermRead
		for _, op := range p.Operations {
			if op == OpnCreate || op == OpnUpdate {
				def = PermEdit
			}
		}
		if d, ok := p.Fields["*"]; ok {
			def = d
		}
		for _, fd := range f.Fields {
			perm := def
			if v, ok := p.Fields[fd.Key]; ok {
				perm = v
			}
			if PermRank(perm) > PermRank(a.Fields[fd.Key]) || a.Fields[fd.Key] == "" {
				a.Fields[fd.Key] = perm
			}
		}
		switch p.Scope.Kind {
		case ScopeAll:
			a.All = true
		case ScopeOwn, "":
			a.Scopes = append(a.Scopes, filter.Cmp{Field: sysField("_owner"), Op: filter.OpEq, Value: u.ID})
		case ScopeUnit:
			a.Scopes = append(a.Scopes, filter.Cmp{Field: sysField("_unit"), Op: filter.OpEq, Value: u.Unit})
		case ScopeUnitAndBelow:
			below, err := s.org.UnitKeysBelow(ctx, u.Unit)
			if err != nil {
				return nil, err
			}
			vals := make([]any, len(below))
			for i, k := range below {
				vals[i] = k
			}
			a.Scopes = append(a.Scopes, filter.Cmp{Field: sysField("_unit"), Op: filter.OpIn, Value: vals})
		case ScopeFilter:
			if vars == nil {
				v, err := s.filterVars(ctx, u)
				if err != nil {
					return nil, err
				}
				vars = &v
			}
			e, err := ParseFilter(f, p.Scope.Filter, *vars)
			if err != nil {
				return nil, err
			}
			a.Scopes = append(a.Scopes, e)
		}
	}
	for _, fd := range f.Fields {
		if a.Fields[fd.Key] == "" {
			a.Fields[fd.Key] = PermHidden
		}
		// masking applies to sensitive fields only; elsewhere "masked" reads as hidden
		if a.Fields[fd.Key] == PermMasked && fd.Sensitive == "" {
			a.Fields[fd.Key] = PermHidden
		}
	}
	sort.Strings(a.Roles)
	return a, nil
}

func sysField(k string) filter.Field {
	return filter.Field{Key: k, Type: filter.TypeString, System: true}
}

// filterVars are the filter variables for a user.
func (s *Service) filterVars(ctx context.Context, u *User) (filter.Vars, error) {
	below, err := s.org.UnitKeysBelow(ctx, u.Unit)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return filter.Vars{}, err
	}
	return filter.Vars{UserID: u.ID, Unit: u.Unit, UnitsBelow: below, Now: s.now()}, nil
}

// redact applies field permissions to data leaving the engine: hidden
// fields are dropped, masked ones replaced by their masked text. It is the
// one place masking happens.
func redact(f *Form, a *Access, data map[string]any) map[string]any {
	out := make(map[string]any, len(data))
	for k, v := range data {
		fd := f.Field(k)
		if fd == nil {
			continue
		}
		switch a.Field(k) {
		case PermEdit, PermRead:
			out[k] = v
		case PermMasked:
			out[k] = Mask(fd.Sensitive, v)
		}
	}
	return out
}

// redactChanges applies field permissions to a revision's changes.
func redactChanges(f *Form, a *Access, cs []FieldChange) []FieldChange {
	out := make([]FieldChange, 0, len(cs))
	for _, c := range cs {
		fd := f.Field(c.Field)
		if fd == nil {
			continue
		}
		switch a.Field(c.Field) {
		case PermEdit, PermRead:
			out = append(out, c)
		case PermMasked:
			out = append(out, FieldChange{Field: c.Field, Before: Mask(fd.Sensitive, c.Before), After: Mask(fd.Sensitive, c.After)})
		}
	}
	return out
}

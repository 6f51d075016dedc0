package engine

import (
	"context"
	"slices"
	"strings"

	"formwork/engine/filter"
)

// holdsScope reports whether r, as a write would leave it, lies inside a's
// data scope. A create or update whose result falls outside is refused, as
// PostgreSQL's row-level security does with WITH CHECK: without it a
// writer scoped to one store could file records under another, or move a
// record out of everyone's sight who should see it.
func holdsScope(a *Access, r *Record) bool {
	scope := a.ScopeFilter()
	if scope == nil {
		return true
	}
	return filter.Match(scope, func(f filter.Field) any {
		if f.System {
			return systemValue(r, f.Key)
		}
		return r.Data[f.Key]
	})
}

// outOfScope is the error of a write whose result would leave the
// writer's data scope, naming the fields the scope reads that the writer
// may see (their own rule), so a form shows it next to them.
func outOfScope(a *Access) error {
	var fields []FieldError
	seen := map[string]bool{}
	for _, f := range filter.Fields(a.ScopeFilter()) {
		if f.System || seen[f.Key] || a.Field(f.Key) == PermHidden {
			continue
		}
		seen[f.Key] = true
		fields = append(fields, FieldError{Field: JSONPointer(f.Key), Code: "out_of_scope",
			Message: Tf("字段 %s 的值超出你的数据范围", "the value of %s is outside your data scope", f.Key)})
	}
	slices.SortFunc(fields, func(x, y FieldError) int { return strings.Compare(x.Field, y.Field) })
	return Forbidden(T("保存后的记录将超出你的数据范围", "the record as saved would fall outside your data scope"), fields...)
}

// MayRead reports whether u may read r of b on their own, through their
// roles and grants, whatever any approval task shows them. The workflow
// runtime asks it before handing a task to someone the node's assignee
// rule did not choose, so a transfer cannot widen who sees a record. A
// role whose policy names addresses counts only from an address it allows,
// and there is none here: the answer errs towards no. It writes nothing.
func (s *Service) MayRead(ctx context.Context, u *User, b *Bundle, r *Record) (bool, error) {
	f := b.Form(r.Form)
	if f == nil {
		return false, nil
	}
	fresh, err := s.currentUser(ctx, u)
	if err != nil {
		if c := ErrorCode(err); c == ELOCKED || c == EUNAUTHORIZED {
			return false, nil
		}
		return false, err
	}
	acc, err := s.accessOf(ctx, fresh, "", b, f)
	if err != nil {
		return false, err
	}
	return acc.Can(OpRead) && r.DeletedAt == nil && holdsScope(acc, r), nil
}

package engine

import "formwork/engine/filter"

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
	sys := SystemOf(r)
	return filter.Match(scope, func(f filter.Field) any {
		if f.System {
			return sys[f.Key]
		}
		return r.Data[f.Key]
	})
}

// outOfScope is the error of a write whose result would leave the
// writer's data scope.
func outOfScope() error {
	return Forbidden(T("保存后的记录将超出你的数据范围", "the record as saved would fall outside your data scope"))
}

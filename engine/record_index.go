package engine

import (
	"slices"

	"formwork/engine/filter"
)

// maxCovered bounds FormIndex.Covered: every covered field widens each of
// the form's field indexes, which every write of a record updates.
const maxCovered = 6

// formIndex is the FormIndex of f in b: its indexed fields, and as covered
// fields first those its roles' scopes name, then the indexed ones.
func formIndex(b *Bundle, f *Form) FormIndex {
	ix := FormIndex{App: b.App.Key, Form: f.Key, Fields: indexedFields(b, f)}
	add := func(k string) {
		if len(ix.Covered) < maxCovered && !slices.Contains(ix.Covered, k) {
			ix.Covered = append(ix.Covered, k)
		}
	}
	var scoped []string
	for _, r := range b.Roles {
		fp := r.Permissions[f.Key]
		if fp == nil {
			continue
		}
		switch fp.Scope.Kind {
		case ScopeOwn:
			scoped = append(scoped, "_owner")
		case ScopeUnit, ScopeUnitAndBelow:
			scoped = append(scoped, "_unit")
		case ScopeFilter:
			e, err := ParseFilter(f, fp.Scope.Filter, filterVarsZero())
			if err != nil {
				continue // the bundle's check refused it already
			}
			for _, fl := range filter.Fields(e) {
				if coverable(f, fl.Key) {
					scoped = append(scoped, fl.Key)
				}
			}
		}
	}
	slices.Sort(scoped)
	for _, k := range scoped {
		add(k)
	}
	for _, k := range ix.Fields {
		if coverable(f, k) {
			add(k)
		}
	}
	return ix
}

// coverable reports whether an index can hold field k of f as one value:
// a scalar data field, or a system field stored as its own column.
func coverable(f *Form, k string) bool {
	switch k {
	case "_unit", "_owner", "_status":
		return true
	}
	fd := f.Field(k)
	return fd != nil && fd.Type != "array" && fd.Type != "object"
}

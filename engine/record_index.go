package engine

import (
	"slices"

	"formwork/engine/filter"
)

// maxCovered bounds FormIndex.Covered: every covered field widens each of
// the form's field indexes, which every write of a record updates.
const maxCovered = 6

// maxPrefixes bounds FormIndex.Prefixes: each leads a copy of every field
// index of the form.
const maxPrefixes = 2

// maxChoices bounds FormIndex.Choices: each leads, after a prefix, a copy
// of the other field indexes.
const maxChoices = 2

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
	addPrefix := func(p []string) {
		if len(p) > 0 && len(ix.Prefixes) < maxPrefixes && !slices.ContainsFunc(ix.Prefixes, func(q []string) bool { return slices.Equal(p, q) }) {
			ix.Prefixes = append(ix.Prefixes, p)
		}
	}
	for _, r := range b.Roles {
		fp := r.Permissions[f.Key]
		if fp == nil {
			continue
		}
		switch fp.Scope.Kind {
		case ScopeOwn:
			scoped = append(scoped, "_owner")
			addPrefix([]string{"_owner"})
		case ScopeUnit:
			scoped = append(scoped, "_unit")
			addPrefix([]string{"_unit"})
		case ScopeUnitAndBelow:
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
			addPrefix(pinned(f, e))
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
		if fd := f.Field(k); fd != nil && isChoice(fd) && len(ix.Choices) < maxChoices {
			ix.Choices = append(ix.Choices, k)
		}
	}
	return ix
}

// isChoice reports whether fd's values form a closed set: an enum, a
// boolean, a select or radio widget.
func isChoice(fd *Field) bool {
	switch {
	case fd.Type == "array" || fd.Type == "object":
		return false
	case len(fd.Options) > 0, fd.Type == "boolean":
		return true
	}
	return fd.Widget == WidgetSelect || fd.Widget == WidgetRadio
}

// pinned returns the fields of f that e fixes by a top-level equality
// (an $and of conditions, or one), sorted; nil when none.
func pinned(f *Form, e filter.Expr) []string {
	items := []filter.Expr{e}
	if a, ok := e.(filter.And); ok {
		items = a.Items
	}
	var out []string
	for _, it := range items {
		if c, ok := it.(filter.Cmp); ok && c.Op == filter.OpEq && coverable(f, c.Field.Key) && !slices.Contains(out, c.Field.Key) {
			out = append(out, c.Field.Key)
		}
	}
	slices.Sort(out)
	return out
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

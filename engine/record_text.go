package engine

import (
	"slices"
	"strings"

	"formwork/engine/filter"
)

// RecordTextTerms returns the full-text index terms of a record's data,
// as both stores keep them next to the record and renew them in the same
// write: the terms of every top-level text value (filter.IndexTerms).
// System keys, blind indexes and ciphertext are never indexed, so a
// sensitive field kept encrypted cannot be found by a piece of its value;
// the engine searches only the fields a viewer reads in full (selection),
// so a masked or hidden value never matches either.
func RecordTextTerms(data map[string]any) []string {
	keys := make([]string, 0, len(data))
	for k, v := range data {
		s, ok := v.(string)
		if !ok || s == "" || strings.HasPrefix(k, "_") || strings.HasPrefix(k, blindPrefix) || IsCiphertext(s) {
			continue
		}
		keys = append(keys, k)
	}
	// each field's terms are sorted and start with "key:", so in the
	// order of those prefixes they come out sorted (checked: a key with
	// a ':' of its own could break it)
	slices.SortFunc(keys, func(a, b string) int { return strings.Compare(a+":", b+":") })
	var out []string
	for _, k := range keys {
		out = filter.AppendIndexTerms(out, k, data[k].(string))
	}
	if !slices.IsSorted(out) {
		slices.Sort(out)
	}
	return out
}

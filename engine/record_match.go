package engine

import (
	"encoding/json"
	"regexp"
)

// FieldMatch is a condition a person sets on one field of a list page,
// already parsed into the field's values by the page. The engine chooses
// the filter-language operator for the field, so no handler builds filter
// expressions: Equals matches a choice, yes/no, member, unit or related
// record (any element of a multi-choice field); Contains searches text,
// case-insensitively, except in sensitive fields, which are encrypted at
// rest and so match only an exact value; From and To bound numbers, dates
// ("YYYY-MM-DD") and date-times (RFC 3339), both inclusive. A match is
// checked like a filter: only on fields the user may see in full.
type FieldMatch struct {
	Field    string `json:"field"`
	Equals   any    `json:"equals,omitempty"`
	Contains string `json:"contains,omitempty"`
	From     any    `json:"from,omitempty"`
	To       any    `json:"to,omitempty"`
	// Range is a date range on a date or date-time field or a record time
	// (_created_at, _updated_at): a name of DateRanges, or "FROM..TO" with
	// days as YYYY-MM-DD (either may be left out), in the organisation's
	// time zone. The engine turns it into From and To.
	Range string `json:"range,omitempty"`
}

// matchFilter returns the filter-language document of ms over f (nil when
// ms sets nothing), combined with extra (another filter document) by $and.
func matchFilter(f *Form, ms []FieldMatch, extra []byte) ([]byte, error) {
	var conds []any
	if len(extra) > 0 {
		conds = append(conds, json.RawMessage(extra))
	}
	for _, m := range ms {
		if c := m.condition(f.Field(m.Field)); c != nil {
			conds = append(conds, map[string]any{m.Field: c})
		}
	}
	switch len(conds) {
	case 0:
		return nil, nil
	case 1:
		return json.Marshal(conds[0])
	}
	return json.Marshal(map[string]any{"$and": conds})
}

// condition is the operator document of m for fd; an unknown field gets
// an equality the filter parser then refuses by name.
func (m FieldMatch) condition(fd *Field) map[string]any {
	switch {
	case m.Equals != nil:
		if fd != nil && fd.Type == "array" {
			return map[string]any{"$in": []any{m.Equals}}
		}
		return map[string]any{"$eq": m.Equals}
	case m.Contains != "":
		if fd == nil || fd.Sensitive != "" {
			return map[string]any{"$eq": m.Contains}
		}
		return map[string]any{"$regex": regexp.QuoteMeta(m.Contains), "$options": "i"}
	}
	rng := map[string]any{}
	if m.From != nil {
		rng["$gte"] = m.From
	}
	if m.To != nil {
		rng["$lte"] = m.To
	}
	if len(rng) == 0 {
		return nil
	}
	return rng
}

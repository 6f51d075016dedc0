package filter

import (
	"encoding/json"
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"level": "vip"}`, `{"budget": {"$gte": 10, "$lt": 100}}`,
		`{"$and": [{"level": {"$in": ["vip", "gold"]}}, {"_unit": {"$in": "$user.units_below"}}]}`,
		`{"$or": [{"name": {"$regex": "^a", "$options": "i"}}, {"$not": {"vip": true}}]}`,
		`{"name": {"$ne": {"$gt": ""}}}`, `{"_created_at": {"$lt": "$now"}}`, `{"tags": {"$nin": [1, "a", false]}}`,
		`{"budget": {"$not": {"$exists": false}}}`, `{"$where": "1"}`, `{"name": {"$regex": "(a|b)*"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := Parse(raw, testResolver, testVars)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Code == "" || fe.En == "" || fe.Zh == "" {
				t.Fatalf("Parse(%q) error %v is not a complete *Error", raw, err)
			}
			return
		}
		if err := Validate(e); err != nil {
			t.Fatalf("Parse(%q) accepted a tree that does not validate: %v", raw, err)
		}
		roundTrip(t, e)
	})
}

// FuzzMatch checks a filter (as a role's scope holds it) against a record
// (as a writer submits it): both come from outside, and Match must answer
// without panicking, and Not must answer the opposite.
func FuzzMatch(f *testing.F) {
	for _, c := range [][2]string{
		{`{"level": "vip"}`, `{"level": "vip"}`},
		{`{"budget": {"$gte": 10, "$lt": 100}}`, `{"budget": 50}`},
		{`{"$and": [{"level": {"$in": ["vip", "gold"]}}, {"_unit": {"$in": "$user.units_below"}}]}`, `{"level": ["vip"], "_unit": "shop-1"}`},
		{`{"$or": [{"name": {"$regex": "^a", "$options": "i"}}, {"$not": {"vip": true}}]}`, `{"name": "Alice", "vip": "true"}`},
		{`{"tags": {"$nin": [1, "a", false]}}`, `{"tags": [null, {"a": 1}, "a"]}`},
		{`{"budget": {"$exists": true}}`, `{"budget": null}`},
	} {
		f.Add([]byte(c[0]), []byte(c[1]))
	}
	f.Fuzz(func(t *testing.T, rawFilter, rawRecord []byte) {
		e, err := Parse(rawFilter, testResolver, testVars)
		if err != nil {
			return
		}
		var rec map[string]any
		if json.Unmarshal(rawRecord, &rec) != nil {
			return
		}
		value := func(f Field) any { return rec[f.Key] }
		if Match(e, value) == Match(Not{X: e}, value) {
			t.Fatalf("Match and Not Match agree on %s over %s", rawFilter, rawRecord)
		}
	})
}

package filter

import (
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

package filter

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	fName     = Field{Key: "name", Type: TypeString}
	fLevel    = Field{Key: "level", Type: TypeString}
	fSince    = Field{Key: "vip_since", Type: TypeString}
	fBudget   = Field{Key: "budget", Type: TypeNumber}
	fVIP      = Field{Key: "vip", Type: TypeBool}
	fTags     = Field{Key: "tags", Type: TypeArray}
	fID       = Field{Key: "_id", Type: TypeString, System: true}
	fUnit     = Field{Key: "_unit", Type: TypeString, System: true}
	fOwner    = Field{Key: "_owner", Type: TypeString, System: true}
	fStatus   = Field{Key: "_status", Type: TypeString, System: true}
	fCreated  = Field{Key: "_created_at", Type: TypeTime, System: true}
	fUpdated  = Field{Key: "_updated_at", Type: TypeTime, System: true}
	fVersion  = Field{Key: "_version", Type: TypeNumber, System: true}
	allFields = []Field{fName, fLevel, fSince, fBudget, fVIP, fTags, fID, fUnit, fOwner, fStatus, fCreated, fUpdated, fVersion}
)

// testResolver resolves the fields of a small customer form plus the system fields.
func testResolver(key string) (Field, bool) {
	for _, f := range allFields {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

var testVars = Vars{
	UserID:     "u1",
	Unit:       "shop-1",
	UnitsBelow: []string{"shop-1", "shop-1a"},
	Now:        time.Date(2026, 11, 23, 14, 36, 10, 123456789, time.FixedZone("CST", 8*3600)),
}

const nowText = "2026-11-23T06:36:10.123Z"

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Expr
	}{
		{"empty matches all", `{}`, And{}},
		{"implicit eq", `{"level": "vip"}`, Cmp{fLevel, OpEq, "vip"}},
		{"implicit and", `{"level": "vip", "budget": 10}`, And{[]Expr{Cmp{fLevel, OpEq, "vip"}, Cmp{fBudget, OpEq, 10.0}}}},
		{"eq", `{"level": {"$eq": "gold"}}`, Cmp{fLevel, OpEq, "gold"}},
		{"ne", `{"level": {"$ne": "gold"}}`, Cmp{fLevel, OpNe, "gold"}},
		{"eq null", `{"level": null}`, Cmp{fLevel, OpEq, nil}},
		{"ne null", `{"level": {"$ne": null}}`, Cmp{fLevel, OpNe, nil}},
		{"gt", `{"budget": {"$gt": 1.5}}`, Cmp{fBudget, OpGt, 1.5}},
		{"gte", `{"budget": {"$gte": 0}}`, Cmp{fBudget, OpGte, 0.0}},
		{"lt", `{"name": {"$lt": "张"}}`, Cmp{fName, OpLt, "张"}},
		{"lte", `{"_version": {"$lte": 3}}`, Cmp{fVersion, OpLte, 3.0}},
		{"range", `{"budget": {"$gte": 10, "$lt": 100}}`, And{[]Expr{Cmp{fBudget, OpGte, 10.0}, Cmp{fBudget, OpLt, 100.0}}}},
		{"in", `{"level": {"$in": ["vip", "gold"]}}`, Cmp{fLevel, OpIn, []any{"vip", "gold"}}},
		{"nin", `{"budget": {"$nin": [1, 2]}}`, Cmp{fBudget, OpNin, []any{1.0, 2.0}}},
		{"in empty", `{"level": {"$in": []}}`, Cmp{fLevel, OpIn, []any{}}},
		{"exists", `{"vip_since": {"$exists": true}}`, Exists{fSince, true}},
		{"not exists", `{"vip_since": {"$exists": false}}`, Exists{fSince, false}},
		{"regex", `{"name": {"$regex": "^张"}}`, Regex{fName, "^张", false}},
		{"regex i", `{"name": {"$regex": "wang", "$options": "i"}}`, Regex{fName, "wang", true}},
		{"regex options first", `{"name": {"$options": "", "$regex": "a.*b"}}`, Regex{fName, "a.*b", false}},
		{"and", `{"$and": [{"level": "vip"}, {"vip": true}]}`, And{[]Expr{Cmp{fLevel, OpEq, "vip"}, Cmp{fVIP, OpEq, true}}}},
		{"or", `{"$or": [{"level": "vip"}, {"budget": {"$gt": 5}}]}`, Or{[]Expr{Cmp{fLevel, OpEq, "vip"}, Cmp{fBudget, OpGt, 5.0}}}},
		{"not doc", `{"$not": {"level": "vip"}}`, Not{Cmp{fLevel, OpEq, "vip"}}},
		{"not field", `{"budget": {"$not": {"$gt": 5}}}`, Not{Cmp{fBudget, OpGt, 5.0}}},
		{"not regex", `{"name": {"$not": {"$regex": "x", "$options": "i"}}}`, Not{Regex{fName, "x", true}}},
		{"bool", `{"vip": false}`, Cmp{fVIP, OpEq, false}},
		{"array eq", `{"tags": "a"}`, Cmp{fTags, OpEq, "a"}},
		{"array in", `{"tags": {"$in": ["a", 1, true]}}`, Cmp{fTags, OpIn, []any{"a", 1.0, true}}},
		{"user id", `{"_owner": "$user.id"}`, Cmp{fOwner, OpEq, "u1"}},
		{"user unit", `{"_unit": {"$ne": "$user.unit"}}`, Cmp{fUnit, OpNe, "shop-1"}},
		{"units below", `{"_unit": {"$in": "$user.units_below"}}`, Cmp{fUnit, OpIn, []any{"shop-1", "shop-1a"}}},
		{"units below nin", `{"_unit": {"$nin": "$user.units_below"}}`, Cmp{fUnit, OpNin, []any{"shop-1", "shop-1a"}}},
		{"var in list", `{"_owner": {"$in": ["$user.id", "u2"]}}`, Cmp{fOwner, OpIn, []any{"u1", "u2"}}},
		{"now on time", `{"_created_at": {"$lt": "$now"}}`, Cmp{fCreated, OpLt, nowText}},
		{"now on string", `{"vip_since": {"$lte": "$now"}}`, Cmp{fSince, OpLte, nowText}},
		{"time canonical", `{"_updated_at": {"$gte": "2026-01-02T03:04:05+08:00"}}`, Cmp{fUpdated, OpGte, "2026-01-01T19:04:05.000Z"}},
		{"time date", `{"_updated_at": {"$gte": "2026-01-02"}}`, Cmp{fUpdated, OpGte, "2026-01-02T00:00:00.000Z"}},
		{"id", `{"_id": "r1", "_status": "active"}`, And{[]Expr{Cmp{fID, OpEq, "r1"}, Cmp{fStatus, OpEq, "active"}}}},
		{"unicode", `{"name": "王小明"}`, Cmp{fName, OpEq, "王小明"}},
		{"example", `{"$and": [{"level": {"$in": ["vip", "gold"]}}, {"_unit": {"$in": "$user.units_below"}}]}`,
			And{[]Expr{Cmp{fLevel, OpIn, []any{"vip", "gold"}}, Cmp{fUnit, OpIn, []any{"shop-1", "shop-1a"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in), testResolver, testVars)
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%s) (-want +got):\n%s", tt.in, diff)
			}
			if err := Validate(got); err != nil {
				t.Errorf("Validate: %v", err)
			}
			roundTrip(t, got)
		})
	}
}

// roundTrip checks that Encode gives a filter Parse turns back into e.
func roundTrip(tb testing.TB, e Expr) {
	tb.Helper()
	raw, err := Encode(e)
	if err != nil {
		tb.Fatalf("Encode(%#v): %v", e, err)
	}
	back, err := Parse(raw, testResolver, testVars)
	if err != nil {
		var fe *Error
		if errors.As(err, &fe) && (fe.Code == CodeLimit || fe.Code == CodeTooLarge) {
			return // the explicit form is larger than the original
		}
		tb.Fatalf("Parse(Encode) of %s: %v", raw, err)
	}
	if diff := cmp.Diff(e, back); diff != "" {
		tb.Errorf("Parse(Encode(e)) of %s (-want +got):\n%s", raw, diff)
	}
}

func TestParseRefused(t *testing.T) {
	deep := `{"level": "x"}`
	for i := 0; i <= MaxDepth; i++ {
		deep = `{"$or": [` + deep + `]}`
	}
	many := `{"$or": [` + strings.Repeat(`{"level": "x"},`, MaxNodes) + `{"level": "x"}]}`
	wide := `{"$or": [` + strings.Repeat(`{"level": "x", "budget": 1},`, MaxNodes/2) + `{"level": "x"}]}`
	long := `{"level": {"$in": [` + strings.Repeat(`"x",`, MaxIn) + `"x"]}}`
	big := `{"name": "` + strings.Repeat("x", MaxSize) + `"}`
	tests := []struct {
		name, in, ptr, code string
	}{
		{"not json", `{"level": `, "/level", CodeSyntax},
		{"trailing", `{} {}`, "", CodeSyntax},
		{"array top", `[]`, "", CodeSyntax},
		{"scalar top", `"x"`, "", CodeSyntax},
		{"duplicate key", `{"level": "a", "level": "b"}`, "/level", CodeSyntax},
		{"unknown field", `{"nope": 1}`, "/nope", CodeUnknownField},
		{"empty key", `{"": 1}`, "/", CodeUnknownField},
		{"dotted", `{"name.first": "x"}`, "/name.first", CodePath},
		{"where", `{"$where": "sleep(1000)"}`, "/$where", CodeUnknownOperator},
		{"function", `{"$function": {}}`, "/$function", CodeUnknownOperator},
		{"expr", `{"$expr": {"$eq": ["$a", "$b"]}}`, "/$expr", CodeUnknownOperator},
		{"nor", `{"$nor": [{"level": "x"}]}`, "/$nor", CodeUnknownOperator},
		{"field op unknown", `{"name": {"$elemMatch": {}}}`, "/name/$elemMatch", CodeUnknownOperator},
		{"field op where", `{"name": {"$where": "1"}}`, "/name/$where", CodeUnknownOperator},
		{"hidden op in ne", `{"name": {"$ne": {"$gt": ""}}}`, "/name/$ne", CodeValue},
		{"hidden op in eq", `{"name": {"$eq": {"$regex": ".*"}}}`, "/name/$eq", CodeValue},
		{"object value", `{"name": {"first": "x"}}`, "/name", CodeValue},
		{"mixed object", `{"name": {"$eq": "x", "first": "y"}}`, "/name", CodeValue},
		{"empty object value", `{"name": {}}`, "/name", CodeValue},
		{"array value", `{"name": ["a"]}`, "/name", CodeValue},
		{"array in eq", `{"name": {"$eq": ["a"]}}`, "/name/$eq", CodeValue},
		{"object in list", `{"name": {"$in": [{"$gt": ""}]}}`, "/name/$in/0", CodeValue},
		{"null in list", `{"name": {"$in": [null]}}`, "/name/$in/0", CodeValue},
		{"in not array", `{"name": {"$in": "x"}}`, "/name/$in", CodeValue},
		{"number vs string", `{"name": 5}`, "/name", CodeType},
		{"string vs number", `{"budget": "5"}`, "/budget", CodeType},
		{"bool vs number", `{"budget": true}`, "/budget", CodeType},
		{"string vs bool", `{"vip": "yes"}`, "/vip", CodeType},
		{"gt bool", `{"vip": {"$gt": false}}`, "/vip/$gt", CodeType},
		{"gt array", `{"tags": {"$gte": "a"}}`, "/tags/$gte", CodeType},
		{"gt null", `{"budget": {"$gt": null}}`, "/budget/$gt", CodeType},
		{"in wrong type", `{"budget": {"$in": [1, "2"]}}`, "/budget/$in/1", CodeType},
		{"bad time", `{"_created_at": {"$gt": "yesterday"}}`, "/_created_at/$gt", CodeType},
		{"number on time", `{"_created_at": {"$gt": 5}}`, "/_created_at/$gt", CodeType},
		{"exists not bool", `{"name": {"$exists": 1}}`, "/name/$exists", CodeType},
		{"unknown variable", `{"_owner": "$user.name"}`, "/_owner", CodeVariable},
		{"dollar string", `{"name": "$inc"}`, "/name", CodeVariable},
		{"units below scalar", `{"_unit": "$user.units_below"}`, "/_unit", CodeVariable},
		{"units below in list", `{"_unit": {"$in": ["$user.units_below"]}}`, "/_unit/$in/0", CodeVariable},
		{"units below on number", `{"budget": {"$in": "$user.units_below"}}`, "/budget/$in", CodeType},
		{"now on number", `{"budget": {"$lt": "$now"}}`, "/budget/$lt", CodeType},
		{"user id on number", `{"budget": "$user.id"}`, "/budget", CodeType},
		{"and not array", `{"$and": {"level": "x"}}`, "/$and", CodeSyntax},
		{"and empty", `{"$and": []}`, "/$and", CodeSyntax},
		{"or item not object", `{"$or": [{"level": "x"}, 1]}`, "/$or/1", CodeSyntax},
		{"not scalar", `{"$not": 1}`, "/$not", CodeSyntax},
		{"field not scalar", `{"budget": {"$not": 5}}`, "/budget/$not", CodeValue},
		{"field not object value", `{"budget": {"$not": {"a": 5}}}`, "/budget/$not", CodeValue},
		{"regex on number", `{"budget": {"$regex": "1"}}`, "/budget/$regex", CodeType},
		{"regex on array", `{"tags": {"$regex": "a"}}`, "/tags/$regex", CodeType},
		{"regex not string", `{"name": {"$regex": 1}}`, "/name/$regex", CodeValue},
		{"options alone", `{"name": {"$options": "i"}}`, "/name/$options", CodeValue},
		{"options x", `{"name": {"$regex": "a", "$options": "x"}}`, "/name/$options", CodeValue},
		{"options im", `{"name": {"$regex": "a", "$options": "im"}}`, "/name/$options", CodeValue},
		{"regex invalid", `{"name": {"$regex": "(a"}}`, "/name/$regex", CodeRegex},
		{"regex backref", `{"name": {"$regex": "(a)\\1"}}`, "/name/$regex", CodeRegex},
		{"regex lookahead", `{"name": {"$regex": "a(?=b)"}}`, "/name/$regex", CodeRegex},
		{"regex nested plus", `{"name": {"$regex": "(a+)+b"}}`, "/name/$regex", CodeRegex},
		{"regex nested star", `{"name": {"$regex": "(a*)*b"}}`, "/name/$regex", CodeRegex},
		{"regex nested noncap", `{"name": {"$regex": "(?:a+)+b"}}`, "/name/$regex", CodeRegex},
		{"regex alt loop", `{"name": {"$regex": "(a|a)*b"}}`, "/name/$regex", CodeRegex},
		{"regex alt loop 2", `{"name": {"$regex": "(a|aa)+$"}}`, "/name/$regex", CodeRegex},
		{"regex counted nested", `{"name": {"$regex": "(a{2,5}){3,}"}}`, "/name/$regex", CodeRegex},
		{"regex deep nested", `{"name": {"$regex": "((ab)*c)*"}}`, "/name/$regex", CodeRegex},
		{"regex too many loops", `{"name": {"$regex": "a.*b.*c.*d.*e"}}`, "/name/$regex", CodeRegex},
		{"regex too long", `{"name": {"$regex": "` + strings.Repeat("a", MaxRegexLen+1) + `"}}`, "/name/$regex", CodeLimit},
		{"regex nul", `{"name": {"$regex": "a\u0000"}}`, "/name/$regex", CodeRegex},
		{"too deep", deep, "/$or/0/$or/0/$or/0/$or/0/$or/0/$or/0/$or/0/$or/0/$or", CodeLimit},
		{"too many nodes", many, "/$or/198", CodeLimit},
		{"too many tree nodes", wide, "/$or/66", CodeLimit},
		{"list too long", long, "/level/$in", CodeLimit},
		{"too large", big, "", CodeTooLarge},
		{"huge number", `{"budget": 1e999}`, "/budget", CodeValue},
		{"pointer escapes", `{"a~b/c": 1}`, "/a~0b~1c", CodeUnknownField},
		{"second error wins by order", `{"level": "x", "nope": 1, "zzz": 2}`, "/nope", CodeUnknownField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in), testResolver, testVars)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Parse(%.80s) = %#v, %v; want *Error", tt.in, got, err)
			}
			want := Error{Pointer: tt.ptr, Code: tt.code}
			if diff := cmp.Diff(want, Error{Pointer: fe.Pointer, Code: fe.Code}); diff != "" {
				t.Errorf("Parse(%.80s) error %q (-want +got):\n%s", tt.in, fe.En, diff)
			}
			if fe.Zh == "" || fe.En == "" {
				t.Errorf("error without both messages: %#v", fe)
			}
		})
	}
}

func TestParseMissingVars(t *testing.T) {
	for _, in := range []string{`{"_owner": "$user.id"}`, `{"_unit": "$user.unit"}`, `{"_created_at": {"$lt": "$now"}}`} {
		_, err := Parse([]byte(in), testResolver, Vars{})
		var fe *Error
		if !errors.As(err, &fe) || fe.Code != CodeVariable {
			t.Errorf("Parse(%s) with no vars: %v; want %s", in, err, CodeVariable)
		}
	}
}

func TestRegexAccepted(t *testing.T) {
	for _, p := range []string{"^张", "wang", "a.*b", "^[a-z]+$", "(ab)+c", "(?i)x", `\d{3}-\d{4}`, "(foo)?bar", `\p{Han}+`, `\x{41}+`, "[(|)]*", `\Q(a|b)*\E`, "a{2}b{1,3}", "(a){1}", "(a|b)?c"} {
		if err := CheckRegex(p); err != nil {
			t.Errorf("CheckRegex(%q) = %v, want nil", p, err)
		}
	}
}

func TestFields(t *testing.T) {
	e, err := Parse([]byte(`{"$or": [{"level": "vip", "budget": {"$gt": 1}}, {"$not": {"level": {"$exists": true}}}, {"name": {"$regex": "a"}}]}`), testResolver, testVars)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Field{fLevel, fBudget, fName}, Fields(e)); diff != "" {
		t.Errorf("Fields (-want +got):\n%s", diff)
	}
}

func TestValidateRefuses(t *testing.T) {
	tests := []struct {
		name string
		e    Expr
	}{
		{"nil not", Not{}},
		{"bad time", Cmp{fCreated, OpGt, "2026-01-01"}},
		{"wrong type", Cmp{fBudget, OpEq, "1"}},
		{"in scalar", Cmp{fLevel, OpIn, "x"}},
		{"unsafe regex", Regex{fName, "(a+)+", false}},
		{"unknown op", Cmp{fLevel, "$where", "x"}},
		{"gt bool", Cmp{fVIP, OpGt, true}},
		{"no field", Exists{}},
	}
	for _, tt := range tests {
		if err := Validate(tt.e); err == nil {
			t.Errorf("%s: Validate(%#v) = nil, want an error", tt.name, tt.e)
		}
	}
}

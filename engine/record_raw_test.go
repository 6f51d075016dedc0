package engine

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// rawDataForm makes a form with the keys of data (and "z") and an access that
// gives each key a permission chosen by perms: edit, read, masked under a
// sensitivity class, hidden, or a key the form does not have.
func rawDataForm(data map[string]any, perms []byte) (*Form, *Access) {
	f := &Form{byKey: map[string]*Field{}}
	a := &Access{Fields: map[string]string{}}
	classes := []string{"", ClassName, ClassPhone, ClassIDNumber, ClassEmail, ClassBankCard, ClassAddress}
	keys := append(slices.Sorted(func(yield func(string) bool) {
		for k := range data {
			if !yield(k) {
				return
			}
		}
	}), "z")
	for i, k := range keys {
		p := byte(i)
		if i < len(perms) {
			p = perms[i]
		}
		switch p % 5 {
		case 4:
			continue // not in the form
		case 0:
			a.Fields[k] = PermEdit
		case 1:
			a.Fields[k] = PermRead
		case 2:
			a.Fields[k] = PermMasked
		case 3:
			a.Fields[k] = PermHidden
		}
		f.byKey[k] = &Field{Key: k, Sensitive: classes[int(p/5)%len(classes)]}
	}
	return f, a
}

// mapData is the data of raw as a list encoded it before raw data: decoded
// into a map, redacted in place, encoded.
func mapData(raw string, f *Form, a *Access) ([]byte, error) {
	var data map[string]any
	if err := json.Unmarshal([]byte(raw), &data); err != nil {
		return nil, err
	}
	redactInPlace(f, a, data)
	return appendJSONValue(nil, data)
}

func jsonDepth(v any) int {
	switch x := v.(type) {
	case map[string]any:
		d := 0
		for _, e := range x {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	case []any:
		d := 0
		for _, e := range x {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	}
	return 0
}

// FuzzRawData: for any stored text and any field permissions, a view made
// of the text writes the bytes the decoded map's view writes (or fails when
// decoding fails); and the text encoding/json writes of any data is copied
// through, not decoded.
func FuzzRawData(f *testing.F) {
	for _, s := range []string{
		`{"a":"<x>","b":[1,2.5e-9,true,null],"c":{"d":"\u2028"}}`, `{"amount":1e300,"n":-0.000001,"i":-0,"big":12345678901234567890}`,
		`{"phone":"+1-555-123-4567","name":"王小明","addr":{"city":"上海","province":"沪","street":"x"},"z":[{"b":1,"a":2}]}`,
		` { "b" : 1 , "a" : 2 } `, `{"a":1,"a":2}`, `{"a":"\u0061","\u0061":1}`, `{"n":01}`, `{"n":1e400}`, `{"t":tru}`, `null`, `[]`,
		`{"bad":"` + "\xff" + `"}`, `{"x":"` + "\x01" + `"}`, `{"s":"\ud800 \ud83d\ude00 \/ \n"}`, `{}`, `{"a":1}x`, `{"a":{"b":{}},"c":[[]]}`,
		`{"a":1.0,"b":1E2,"c":100000000000000000000000,"d":0.0000001}`,
		`{"a":0.000001,"b":0.0000015,"c":123456789012.345,"d":1234567890123456,"e":0.1,"f":-0.5,"g":100.10,"h":9007199254740993,"i":0.30000000000000004}`,
		`{"plain":"abcdefghijklmnopqrstuvwxyz 0123456789","mixed":"abcdefgh<ijklmnop","tail":"abcdefghi&"}`,
		`{"zh":"上海市徐汇区漕溪北路 88 号，周末来店","sep":"行一` + "\u2028" + `行二","para":"` + "\u2029" + `","lt":"王<小明","cut":"` + "\xe4\xb8" + `"}`,
		`{"k":"Müller Straße 12345678 ünd","amp":"上海&北京 12345678","ctl":"上海` + "\t" + `"}`,
	} {
		f.Add(s, []byte{0, 1, 2, 3, 4, 7, 12, 17, 22, 27, 32})
	}
	f.Fuzz(func(t *testing.T, raw string, perms []byte) {
		var data map[string]any
		decodeErr := json.Unmarshal([]byte(raw), &data)
		fm, acc := rawDataForm(data, perms)
		want, wantErr := mapData(raw, fm, acc)
		plan := newFieldPlan(fm, acc)
		v := &RecordView{ID: "r1", raw: raw, plan: plan}
		got, err := appendViewData([]byte("x"), v)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("appendViewData(%q) error %v, the map's %v", raw, err, wantErr)
		}
		if err == nil && string(got[1:]) != string(want) {
			t.Fatalf("appendViewData(%q)\n%s\nthe map's\n%s", raw, got[1:], want)
		}
		if out, ok := appendRawData(nil, raw, plan); ok && (wantErr != nil || string(out) != string(want)) {
			t.Fatalf("appendRawData(%q) = %s, the map's %s (error %v)", raw, out, want, wantErr)
		}
		if decodeErr != nil || data == nil || jsonDepth(data) > rawDepth {
			return
		}
		canon, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		want, err = mapData(string(canon), fm, acc)
		if err != nil {
			t.Fatal(err)
		}
		out, ok := appendRawData(nil, string(canon), plan)
		if !ok {
			t.Fatalf("appendRawData declined what json.Marshal wrote: %s", canon)
		}
		if string(out) != string(want) {
			t.Fatalf("appendRawData(%s)\n%s\nthe map's\n%s", canon, out, want)
		}
	})
}

// TestRawDataList: a page read with RawData encodes as the page read
// without it.
func TestRawDataList(t *testing.T) {
	raw := `{"amount":1234.5,"name":"王 \u003cb\u003e","notes":"a\nb","phone":"+1-555-123-4567","store":"S1"}`
	f := &Form{byKey: map[string]*Field{"name": {Key: "name"}, "notes": {Key: "notes"}, "phone": {Key: "phone", Sensitive: ClassPhone}, "store": {Key: "store"}, "amount": {Key: "amount"}}}
	for _, perms := range []map[string]string{
		{"name": PermEdit, "notes": PermRead, "phone": PermHidden, "store": PermEdit, "amount": PermRead},
		{"name": PermMasked, "notes": PermRead, "phone": PermMasked, "store": PermEdit, "amount": PermMasked},
	} {
		a := &Access{Fields: perms}
		at := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
		rec := func(rawData bool) *Record {
			r := &Record{ID: "r1", App: "a", Form: "f", Version: 2, Status: StatusActive, CreatedAt: at, UpdatedAt: at}
			if rawData {
				r.RawData = raw
			} else if err := json.Unmarshal([]byte(raw), &r.Data); err != nil {
				t.Fatal(err)
			}
			return r
		}
		enc := func(r *Record) string {
			v := readView(r, f, a)
			b, err := (&RecordList{Items: []*RecordView{&v}}).AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		if got, want := enc(rec(true)), enc(rec(false)); got != want {
			t.Errorf("raw\n%s\nmap\n%s", got, want)
		}
	}
}

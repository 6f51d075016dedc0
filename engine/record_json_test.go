package engine

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// reflectJSON is v encoded by encoding/json's reflection, as before
// RecordView and RecordList had their own encoders.
func reflectJSON(t testing.TB, v any) string {
	t.Helper()
	var b []byte
	var err error
	switch x := v.(type) {
	case *RecordView:
		type alias RecordView
		b, err = json.Marshal((*alias)(x))
	case *RecordList:
		type view RecordView
		type list struct {
			Items      []*view `json:"items"`
			NextCursor string  `json:"next_cursor"`
		}
		l := list{Items: []*view{}, NextCursor: x.NextCursor}
		for _, it := range x.Items {
			l.Items = append(l.Items, (*view)(it))
		}
		b, err = json.Marshal(l)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRecordJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 6, 22, 1, 2, 345000000, time.UTC)
	del := at.Add(time.Hour)
	data := map[string]any{
		"name": "王小明 <b>&\"x\"</b>\u2028\u2029\x01\t\n", "amount": 1234.5, "tiny": 1e-7, "big": 1e21, "neg": -0.0, "int": 42.0,
		"ok": true, "none": nil, "tags": []any{"a", 1.0, false, nil, map[string]any{"z": 1.0, "a": "b"}},
		"sub": map[string]any{"b": []any{}, "a": map[string]any{}}, "bad": "\xff\xfeok", "n": json.Number("12"), "i": 7,
	}
	views := []*RecordView{
		{ID: "r1", App: "shop", Form: "customer", Version: 3, Status: StatusActive, Unit: "store1", Owner: "u1", CreatedAt: at, UpdatedAt: at, Data: data},
		{ID: "r2", App: "shop", Form: "customer", Version: 1, CreatedAt: at.In(time.FixedZone("CST", 8*3600)), UpdatedAt: at, DeletedAt: &del, DeletedBy: "u2"},
		{ID: "r3", Data: map[string]any{}},
	}
	for _, v := range views {
		got, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(reflectJSON(t, v), string(got)); diff != "" {
			t.Errorf("view %s (-encoding/json +AppendJSON):\n%s", v.ID, diff)
		}
	}
	for _, l := range []*RecordList{{}, {Items: views, NextCursor: "c<1>"}} {
		got, err := l.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(reflectJSON(t, l), string(got)); diff != "" {
			t.Errorf("list (-encoding/json +AppendJSON):\n%s", diff)
		}
	}
}

// FuzzRecordJSON: for any JSON data and any text in the record's fields,
// AppendJSON writes what encoding/json does.
func FuzzRecordJSON(f *testing.F) {
	f.Add(`{"a":"<x>","b":[1,2.5e-9,true,null],"c":{"d":"\u2028"}}`, "id\xff", "c")
	f.Add(`{"amount":1e300,"n":-0.000001}`, "", "")
	f.Fuzz(func(t *testing.T, raw, id, cursor string) {
		var data map[string]any
		if json.Unmarshal([]byte(raw), &data) != nil {
			return
		}
		v := &RecordView{ID: id, App: cursor, Owner: raw, CreatedAt: time.Unix(int64(len(raw))*1e6, 0).UTC(), Data: data}
		got, err := (&RecordList{Items: []*RecordView{v}, NextCursor: cursor}).AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := reflectJSON(t, &RecordList{Items: []*RecordView{v}, NextCursor: cursor}); want != string(got) {
			t.Errorf("AppendJSON\n%s\nencoding/json\n%s", got, want)
		}
	})
}

func FuzzListDetail(f *testing.F) {
	f.Add(3, `{"level":{"$eq":"<gold>"}}`, "王\xff\u2028", "-amount")
	f.Add(0, "", "", "")
	f.Fuzz(func(t *testing.T, count int, filter, search, sort string) {
		want := MustJSON(map[string]any{"count": count, "filter": filter, "search": search, "sort": sort})
		if got := listDetail(count, filter, search, sort); string(got) != string(want) {
			t.Errorf("listDetail = %s, MustJSON %s", got, want)
		}
	})
}

func FuzzJSONSafe8(f *testing.F) {
	for _, s := range []string{"abcdefgh", "abc\"defg", "abcdefg\\", "<bcdefgh", "abcd>efg", "abcdef&h", "abcdefg\x7f", "abcdefg\x1f", "\x80bcdefgh", "王bcdefg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) < 8 {
			return
		}
		w := s[:8]
		want := true
		for i := 0; i < 8; i++ {
			if c := w[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				want = false
			}
		}
		if got := jsonSafe8(w); got != want {
			t.Errorf("jsonSafe8(%q) = %v, want %v", w, got, want)
		}
	})
}

func BenchmarkRecordListJSON(b *testing.B) {
	at := time.Date(2026, 12, 6, 22, 1, 2, 345000000, time.UTC)
	l := &RecordList{NextCursor: "c"}
	for i := 0; i < 50; i++ {
		l.Items = append(l.Items, &RecordView{ID: "r0000000000000000000" + strconv.Itoa(i), App: "bench", Form: "customers", Version: 1, Status: "active",
			Unit: "hq", Owner: "admin", CreatedAt: at, UpdatedAt: at, Data: map[string]any{"name": "Customer " + strconv.Itoa(i), "store": "S1", "level": "gold",
				"amount": 1234.56, "notes": strings.Repeat("alpha bravo charlie delta echo ", 6), "created_on": "2024-01-01T00:00:00Z"}})
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = l.AppendJSON(buf[:0])
	}
}

// FuzzJSONTime: appendJSONTime writes what time.Time's MarshalJSON does,
// in UTC (its own digits), in a zone at offset zero and in others.
func FuzzJSONTime(f *testing.F) {
	f.Add(int64(1733540000), int64(0), uint8(0))
	f.Add(int64(1733540000), int64(123456789), uint8(1))
	f.Add(int64(-62135596800), int64(100), uint8(0))
	f.Add(int64(253402300799), int64(999999999), uint8(2))
	f.Add(int64(253402300800), int64(0), uint8(0))
	f.Fuzz(func(t *testing.T, sec, nsec int64, zone uint8) {
		tm := time.Unix(sec, nsec%1e9)
		switch zone % 3 {
		case 0:
			tm = tm.UTC()
		case 1:
			tm = tm.In(time.FixedZone("Z0", 0))
		case 2:
			tm = tm.In(time.FixedZone("CST", 8*3600))
		}
		want, wantErr := tm.MarshalJSON()
		got, err := appendJSONTime([]byte("x"), tm)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("appendJSONTime(%v) error %v, MarshalJSON %v", tm, err, wantErr)
		}
		if err == nil && string(got[1:]) != string(want) {
			t.Fatalf("appendJSONTime(%v) = %s, MarshalJSON %s", tm, got[1:], want)
		}
	})
}

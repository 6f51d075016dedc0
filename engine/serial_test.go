package engine

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// serialForm is a form with a serial number that the static "required"
// list names (it is still never required of the person filling it in).
func serialForm(t *testing.T) *CompiledForm {
	t.Helper()
	return widgetForm(t, `"no":{"type":"string","x-widget":"serial","x-serial":{"prefix":"SO-","date":"YYYYMMDD","digits":4,"per":"unit"}},
	  "name":{"type":"string","x-widget":"text"}`, `,"required":["no","name"]`)
}

func TestSerialFieldEvaluate(t *testing.T) {
	cf := serialForm(t)
	pos := cf.pos["no"]
	tests := []struct {
		name  string
		in    EvalInput
		want  any // the value of "no" after evaluation; nil: absent
		wantK bool
	}{
		{"create ignores a number sent", EvalInput{Data: map[string]any{"no": "SO-FAKE", "name": "a"}}, nil, false},
		{"create without one passes though required", EvalInput{Data: map[string]any{"name": "a"}}, nil, false},
		{"update keeps the stored number", EvalInput{Data: map[string]any{"no": "SO-OTHER", "name": "a"}, Prev: map[string]any{"no": "SO-20261206-0001", "name": "a"}}, "SO-20261206-0001", true},
		{"update cannot remove it", EvalInput{Data: map[string]any{"name": "a"}, Prev: map[string]any{"no": "SO-20261206-0001", "name": "a"}}, "SO-20261206-0001", true},
		{"a workflow's set cannot change it", EvalInput{Data: map[string]any{"no": "X", "name": "a"}, Prev: map[string]any{"no": "SO-20261206-0002", "name": "a"}, TrustReadonly: true}, "SO-20261206-0002", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now = testNow
			res := cf.Evaluate(tt.in)
			if !res.OK() {
				t.Fatalf("refused: %v", res.Errors)
			}
			got, ok := res.Data["no"]
			if ok != tt.wantK || got != tt.want {
				t.Errorf("no = %v (present %v), want %v (present %v)", got, ok, tt.want, tt.wantK)
			}
			if st := res.States[pos]; !st.Readonly || st.Required {
				t.Errorf("state %+v, want readonly and not required", st)
			}
		})
	}
}

func TestSerialClaims(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	at := time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC) // 6 December in Shanghai
	r := &Record{App: "shop", Form: "order", Unit: "s1"}
	tests := []struct {
		cfg  string
		want SerialClaim
		n    int64
		text string
	}{
		{`{"prefix":"SO-","date":"YYYYMMDD","digits":4,"per":"unit"}`,
			SerialClaim{Field: "no", Counter: "unit|shop|order|no|s1|20261206", Prefix: "SO-20261206-", Digits: 4}, 1, "SO-20261206-0001"},
		{`{"prefix":"R","digits":6}`, SerialClaim{Field: "no", Counter: "form|shop|order|no", Prefix: "R", Digits: 6}, 42, "R000042"},
		{`{"date":"YYMMDD","per":"app"}`, SerialClaim{Field: "no", Counter: "app|shop|261206", Prefix: "261206-", Digits: 4}, 12, "261206-0012"},
		{`{"date":"YYYYMM","per":"form"}`, SerialClaim{Field: "no", Counter: "form|shop|order|no|202612", Prefix: "202612-", Digits: 4}, 9999, "202612-9999"},
		{`{"date":"YYYY"}`, SerialClaim{Field: "no", Counter: "form|shop|order|no|2026", Prefix: "2026-", Digits: 4}, 3, "2026-0003"},
	}
	for _, tt := range tests {
		t.Run(tt.cfg, func(t *testing.T) {
			b, err := LoadBundle(widgetBundle(`"no":{"type":"string","x-widget":"serial","x-label":{"zh":"单号","en":"No."},"x-serial":`+tt.cfg+`}`, ""))
			if err != nil {
				t.Fatal(err)
			}
			got := SerialClaims(b.Form("f"), r, at, shanghai)
			tt.want.Label = T("单号", "No.")
			if d := cmp.Diff([]SerialClaim{tt.want}, got); d != "" {
				t.Fatalf("claims (-want +got):\n%s", d)
			}
			if s, err := got[0].Format(tt.n); err != nil || s != tt.text {
				t.Errorf("Format(%d) = %q, %v; want %q", tt.n, s, err, tt.text)
			}
		})
	}
}

func TestSerialFormatExhausted(t *testing.T) {
	c := SerialClaim{Field: "no", Prefix: "SO-", Digits: 2, Label: T("单号", "No.")}
	if s, err := c.Format(99); err != nil || s != "SO-99" {
		t.Fatalf("Format(99) = %q, %v", s, err)
	}
	_, err := c.Format(100)
	fe := ErrorFields(err)
	if ErrorCode(err) != EINVALID || len(fe) != 1 || fe[0].Field != "/no" || fe[0].Code != "serial_exhausted" {
		t.Fatalf("Format(100) error = %v, want EINVALID at /no", err)
	}
	for _, msg := range []string{fe[0].Message.Zh, fe[0].Message.En} {
		if !strings.Contains(msg, "SO-99") || !strings.Contains(msg, "单号") && !strings.Contains(msg, "No.") {
			t.Errorf("message %q should name the field and the last number", msg)
		}
	}
}

func TestLoadBundleSerial(t *testing.T) {
	const ptr = "/forms/1/properties/no"
	tests := []struct {
		name  string
		field string
		want  string // pointer and code the loader reports
	}{
		{"unknown key", `"x-serial":{"prefix":"SO-","digit":4}`, ptr + "/x-serial/digit unknown_key"},
		{"too many digits", `"x-serial":{"digits":13}`, ptr + "/x-serial/digits"},
		{"no digits", `"x-serial":{"digits":0}`, ptr + "/x-serial/digits"},
		{"unknown date part", `"x-serial":{"date":"DD-MM"}`, ptr + "/x-serial/date"},
		{"unknown per", `"x-serial":{"per":"store"}`, ptr + "/x-serial/per"},
		{"prefix too long", `"x-serial":{"prefix":"` + strings.Repeat("X", 21) + `"}`, ptr + "/x-serial/prefix"},
		{"not an object", `"x-serial":"SO-####"`, ptr + "/x-serial"},
		{"sensitive", `"x-sensitive":"name"`, ptr + "/x-sensitive serial"},
		{"default", `"default":"SO-1"`, ptr + "/default serial"},
		{"rule", `"x-visible":"true"`, ptr + "/x-visible serial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBundle(widgetBundle(`"no":{"type":"string","x-widget":"serial",`+tt.field+`}`, ""))
			var got []string
			for _, f := range ErrorFields(err) {
				got = append(got, f.Field+" "+f.Code)
			}
			found := false
			for _, g := range got {
				found = found || strings.HasPrefix(g, tt.want)
			}
			if !found {
				t.Errorf("want an error %q; got %v", tt.want, got)
			}
		})
	}
	_, err := LoadBundle(widgetBundle(`"lines":{"type":"array","x-widget":"subform","items":{"type":"object","properties":{"no":{"type":"string","x-widget":"serial"}}}}`, ""))
	if fe := ErrorFields(err); len(fe) == 0 || fe[0].Field != "/forms/1/properties/lines/items/properties/no/x-widget" {
		t.Errorf("a serial in a subform: %v", err)
	}
}

// FuzzSerialFormat: whatever x-serial a bundle that loads gives, the
// numbers are its prefix and date part, then the counter in at least its
// digits, and running out is a field error, never a panic.
func FuzzSerialFormat(f *testing.F) {
	f.Add("SO-", "YYYYMMDD", 4, "unit", int64(1))
	f.Add("", "", 1, "", int64(10))
	f.Add("编号", "YYYY", 12, "app", int64(999999999999))
	f.Fuzz(func(t *testing.T, prefix, date string, digits int, per string, n int64) {
		cfg := fmt.Sprintf(`{"prefix":%q,"date":%q,"digits":%d,"per":%q}`, prefix, date, digits, per)
		b, err := LoadBundle([]byte(`{"formwork":"1","app":{"key":"t","name":"T","version":"1.0.0"},"forms":[{"x-key":"f","type":"object","properties":{"no":{"type":"string","x-widget":"serial","x-serial":` + cfg + `}}}]}`))
		if err != nil {
			return // refused at load, with its pointer (TestLoadBundleSerial)
		}
		claims := SerialClaims(b.Form("f"), &Record{App: "t", Form: "f", Unit: "u"}, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), nil)
		if len(claims) != 1 {
			t.Fatalf("%d claims", len(claims))
		}
		s, err := claims[0].Format(n)
		if err != nil {
			if fe := ErrorFields(err); ErrorCode(err) != EINVALID || len(fe) != 1 || fe[0].Field != "/no" {
				t.Fatalf("Format(%d) error %v", n, err)
			}
			return
		}
		if !regexp.MustCompile(`^` + regexp.QuoteMeta(claims[0].Prefix) + `[0-9]{` + fmt.Sprint(claims[0].Digits) + `}$`).MatchString(s) {
			t.Fatalf("Format(%d) = %q for %s", n, s, cfg)
		}
	})
}

package sqlite

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func FuzzDecodeData(f *testing.F) {
	for _, s := range []string{
		`{"a":"x","b":1.5,"c":[true,false,null,{"d":-0}],"e":{}}`, `{"s":"\u003cb\u003e \"q\" \\ \ud83d\ude00 \ud800"}`,
		` { "a" : [ ] , "a" : 2 } `, `{"n":1e400}`, `{"n":01}`, `{"t":tru}`, `null`, `{"bad":"` + "\xff" + `"}`, `{"x":"` + "\x01" + `"}`,
		`{"中文":"王小明","amount":1234.56,"exp":1E-7}`, `{}`, `{"a":1}x`, `[1]`,
		`{"long":"abcdefghijklmnop\"q","ctl":"abcdefghij` + "\x1f" + `"}`, `{"x":"abcdefghijklmnopqrstuvwxyz王"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want map[string]any
		wantErr := json.Unmarshal([]byte(s), &want)
		got, err := decodeData(s)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decodeData(%q) error %v, json.Unmarshal %v", s, err, wantErr)
		}
		if err == nil && !cmp.Equal(want, got) {
			t.Errorf("decodeData(%q) (-json.Unmarshal +decodeData):\n%s", s, cmp.Diff(want, got))
		}
	})
}

func FuzzPrintableASCII(f *testing.F) {
	for _, s := range []string{"", "abcdefgh", "abcdefghi\x1f", "abcdefg\x7f", "abcdefgh\x80", " !~~~~~~~~~~~~~", "\x00bcdefgh", "abcdefghijklmno\x19", "0123456789中文"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := true
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] >= 0x80 {
				want = false
			}
		}
		if got := printableASCII(s); got != want {
			t.Errorf("printableASCII(%q) = %v, want %v", s, got, want)
		}
	})
}

package server

import (
	"strings"
	"testing"

	"formwork/engine"
)

// FuzzDecodeBody feeds arbitrary bytes to the request-body decoder: it
// must never panic, and must either decode or answer a 4xx code.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{`{"data":{"name":"x"}}`, `{"data":null}`, `{"email":"a","password":"b"}`, `[`, `{"a":1}`, `{"data":{"a":[1,2,{"b":"\u0000"}]}}`,
		strings.Repeat("[", 40), `{"data":{}} {}`, `"str"`, `{"data":{"x":1e999}}`, "{\"data\":{\"\xff\":1}}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range []any{&dataBody{}, &loginBody{}, &userBody{}, &unitBody{}, &restoreBody{}, &previewBody{}} {
			err := decodeBody(b, 32, v)
			if err == nil {
				continue
			}
			code := engine.ErrorCode(err)
			if s := statusOf(code); s < 400 || s >= 500 {
				t.Fatalf("decode %q: code %s (status %d)", b, code, s)
			}
		}
	})
}

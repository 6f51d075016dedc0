package server

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDescribeAgent feeds the sessions page's reading of User-Agent
// headers, which any client sets to anything: it must never panic and
// never show more than the header held, in valid text.
func FuzzDescribeAgent(f *testing.F) {
	for _, s := range []string{
		"",
		"curl/8.5.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		"Mozilla/5.0 (Linux; Android 14; MI 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0",
		"\x00\xff(((;;;))) Chrome/ Firefox/ Version/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, agent string) {
		for _, lang := range []string{"zh", "en"} {
			got := describeAgent(agent, lang)
			if got == "" && strings.TrimSpace(agent) != "" && !strings.HasPrefix(agent, " ") {
				t.Errorf("%q described as nothing", agent)
			}
			if utf8.ValidString(agent) && !utf8.ValidString(got) {
				t.Errorf("%q described as invalid text %q", agent, got)
			}
		}
	})
}

// FuzzNewTokenBody feeds the token create endpoint bodies of any shape: a
// clear 4xx or a 201, never a 500.
func FuzzNewTokenBody(f *testing.F) {
	h := newHarness(f, testConfig())
	for _, s := range []string{
		`{"name":"erp","expires_in":"P30D","apps":["shop"]}`,
		`{"name":"","expires_in":"P99999Y"}`,
		`{"name":"x","expires_in":"PT","apps":[null]}`,
		`{"name":1}`, `[]`, `null`, `{"apps":{"$gt":""}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		ht := *h
		ht.tb = t // the harness reports to this input's test
		rec := ht.do("POST", "/api/v1/tokens", "analyst", body, nil)
		if rec.Code >= 500 {
			t.Fatalf("%q: %d %s", body, rec.Code, rec.Body.String())
		}
		if rec.Code == 201 && !strings.Contains(rec.Body.String(), `"token":"fwt_`) {
			t.Fatalf("%q: created without a secret: %s", body, rec.Body.String())
		}
	})
}

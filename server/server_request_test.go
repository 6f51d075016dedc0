package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"formwork/designer"
)

// TestRequestID: every answer names its request in X-Request-Id, a
// problem+json body carries the same id, and the access log's line for
// the request names it too with its status; a trusted proxy's id is kept,
// anyone else's replaced.
func TestRequestID(t *testing.T) {
	cfg := testConfig()
	cfg.TrustedProxies = PrivateRanges()
	h := newHarness(t, cfg)
	var logs bytes.Buffer
	e := New(Deps{Store: h.store, Org: h.org, Service: h.svc, Designer: designer.New(h.svc), Config: h.cfg,
		Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	send := func(peer, id string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/api/v1/apps/shop/forms/nope", nil)
		req.RemoteAddr = peer
		req.Header.Set("Authorization", "Bearer "+h.tokens["staff"])
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	rec := send("192.0.2.10:5555", "spoofed-id")
	id := rec.Header().Get("X-Request-Id")
	if id == "" || id == "spoofed-id" {
		t.Fatalf("X-Request-Id %q: want a new id, not the one an untrusted client sent", id)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != http.StatusNotFound {
		t.Fatalf("answer %d %s", rec.Code, rec.Body.String())
	}
	if p.RequestID != id {
		t.Errorf("problem request_id %q, header %q", p.RequestID, id)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == "request" && l["request_id"] == id {
			found = true
			if l["status"] != float64(404) || l["route"] != "/api/v1/apps/:app/forms/:form" || l["user"] != h.users["staff"].ID {
				t.Errorf("access log line %s", line)
			}
		}
	}
	if !found {
		t.Errorf("no access log line for %s:\n%s", id, logs.String())
	}
	if got := send("10.0.0.7:5555", "lb-42").Header().Get("X-Request-Id"); got != "lb-42" {
		t.Errorf("a trusted proxy's id became %q", got)
	}
	if got := send("10.0.0.7:5555", "bad id <script>").Header().Get("X-Request-Id"); got == "bad id <script>" || got == "" {
		t.Errorf("a malformed id was kept: %q", got)
	}
}

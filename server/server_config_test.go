package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"formwork/designer"
)

// TestTrustedProxiesClientAddress: the client address (what the access
// log and the per-address limits see) comes from X-Forwarded-For only when
// the connection's peer is inside a trusted range; anyone else's header is
// ignored and the peer's own address counts.
func TestTrustedProxiesClientAddress(t *testing.T) {
	lb := []netip.Prefix{netip.MustParsePrefix("203.0.113.0/28"), netip.MustParsePrefix("2001:db8::/64")}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     string
		want    string
	}{
		{"no proxies trusted", nil, "10.0.0.5:4000", "198.51.100.7", "10.0.0.5"},
		{"trusted proxy", lb, "203.0.113.3:4000", "198.51.100.7", "198.51.100.7"},
		{"trusted proxy, chain", lb, "203.0.113.3:4000", "198.51.100.99, 198.51.100.7, 203.0.113.2", "198.51.100.7"},
		{"trusted IPv6 proxy", lb, "[2001:db8::5]:4000", "198.51.100.7", "198.51.100.7"},
		{"untrusted peer", lb, "192.0.2.10:4000", "198.51.100.7", "192.0.2.10"},
		{"private peer outside the list", lb, "10.0.0.5:4000", "198.51.100.7", "10.0.0.5"},
		{"private ranges trusted", PrivateRanges(), "10.0.0.5:4000", "198.51.100.7", "198.51.100.7"},
		{"private ranges, public peer", PrivateRanges(), "192.0.2.10:4000", "198.51.100.7", "192.0.2.10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			cfg := h.cfg
			cfg.TrustedProxies = tc.trusted
			var logs bytes.Buffer
			e := New(Deps{Store: h.store, Org: h.org, Service: h.svc, Designer: designer.New(h.svc), Config: cfg,
				Log: slog.New(slog.NewJSONHandler(&logs, nil))})
			req := httptest.NewRequest("GET", "/healthz", nil)
			req.RemoteAddr = tc.peer
			req.Header.Set("X-Forwarded-For", tc.xff)
			e.ServeHTTP(httptest.NewRecorder(), req)
			var line map[string]any
			if err := json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line); err != nil {
				t.Fatalf("access log %q: %v", logs.String(), err)
			}
			if line["ip"] != tc.want {
				t.Errorf("client address %v, want %s", line["ip"], tc.want)
			}
		})
	}
}

// TestUploadLimitFromConfig: Config.UploadLimit caps a multipart body; the
// 413 names the limit, and an upload under it is stored.
func TestUploadLimitFromConfig(t *testing.T) {
	h := docsHarness(t)
	cfg := h.cfg
	cfg.UploadLimit = 64 << 10
	h.e = New(Deps{Store: h.store, Org: h.org, Service: h.svc, Designer: designer.New(h.svc), Config: cfg})
	rec := h.upload("clerk", "docs", "claim", "files", "big.txt", "text/plain", bytes.Repeat([]byte("a"), 100<<10))
	problemOf(t, "past the upload limit", rec, http.StatusRequestEntityTooLarge)
	if !strings.Contains(rec.Body.String(), "65536") {
		t.Errorf("413 does not name the limit: %s", rec.Body.String())
	}
	uploadValue(t, h.upload("clerk", "docs", "claim", "files", "small.txt", "text/plain", bytes.Repeat([]byte("a"), 10<<10)))
}

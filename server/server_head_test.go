package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
)

// TestHeadAnswersEveryGetPage: HEAD of every GET route without path
// parameters answers as its GET does (status and content type), with no
// body; /login in particular is 200, not 405.
func TestHeadAnswersEveryGetPage(t *testing.T) {
	h := newHarness(t, testConfig())
	if rec := h.do("HEAD", "/login", "", "", nil); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("HEAD /login: %d with %d bytes, want 200 and no body", rec.Code, rec.Body.Len())
	}
	seen := 0
	for _, r := range h.e.Routes() {
		if r.Method != http.MethodGet || strings.ContainsAny(r.Path, ":*") {
			continue
		}
		for _, user := range []string{"", "admin"} {
			get := h.do("GET", r.Path, user, "", nil)
			head := h.do("HEAD", r.Path, user, "", nil)
			if head.Code != get.Code || head.Header().Get("Content-Type") != get.Header().Get("Content-Type") {
				t.Errorf("%s as %q: HEAD %d %q, GET %d %q", r.Path, user, head.Code, head.Header().Get("Content-Type"), get.Code, get.Header().Get("Content-Type"))
			}
			if head.Body.Len() != 0 {
				t.Errorf("%s as %q: HEAD sent a body of %d bytes", r.Path, user, head.Body.Len())
			}
			seen++
		}
	}
	if seen < 20 {
		t.Errorf("only %d GET routes tried", seen)
	}
	if rec := h.do("HEAD", "/no-such-page", "", "", nil); rec.Code != http.StatusNotFound {
		t.Errorf("HEAD of an unknown path: %d, want 404", rec.Code)
	}
}

// TestHeadOverConnection: over a real connection, HEAD of a JSON list
// declares the GET body's length and leaves the connection open for the
// next request.
func TestHeadOverConnection(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	c := srv.Client()
	send := func(method string) (*http.Response, []byte, bool) {
		var reused bool
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), method, srv.URL+benchVisit, nil)
		req.Header.Set("Authorization", "Bearer "+h.tokens["admin"])
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body, reused
	}
	get, body, _ := send("GET")
	if get.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d %s", get.StatusCode, body)
	}
	head, hbody, _ := send("HEAD")
	if head.StatusCode != http.StatusOK || len(hbody) != 0 || head.ContentLength != int64(len(body)) {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %d; want 200, none, %d", head.StatusCode, len(hbody), head.ContentLength, len(body))
	}
	if _, _, reused := send("GET"); !reused {
		t.Error("the GET after a HEAD did not reuse the connection")
	}
}

package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"

	"formwork/designer"
	"formwork/engine/queue"
)

// rateRedisDB is the database the rate-limit tests use on a real Redis
// (engine/queue's too). Their keys are unique to each run and expire, so
// nothing is wiped.
const rateRedisDB = 13

// randomIP is a client address no other test or run uses, so counts left
// in a shared Redis by an earlier run do not matter.
func randomIP() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2])
}

// hit sends one request from ip (with a bearer token when token is not
// "") to e.
func hit(e http.Handler, method, path, ip, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = ip + ":5555"
	req.Header.Set("Accept-Language", "en")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// node is a server on the harness's store with its own rate store and log,
// as another web node of the same installation.
func (h *harness) node(cfg Config, limits RateStore, clock func() time.Time, log *bytes.Buffer) *echo.Echo {
	w := &lockedBuffer{b: log}
	if log == nil {
		w = &lockedBuffer{b: &bytes.Buffer{}}
	}
	return New(Deps{Store: h.store, Org: h.org, Service: h.svc, Designer: designer.New(h.svc), Config: cfg, Limits: limits, Clock: clock,
		Log: slog.New(slog.NewTextHandler(w, nil))})
}

type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestRetryAfter: a refused request says when to come back, in whole
// seconds from the bucket's refill — on the API, on pages, on the login
// throttle and on public forms.
func TestRetryAfter(t *testing.T) {
	cfg := testConfig()
	cfg.RateIP = RateLimit{PerSecond: 0.25, Burst: 1}
	cfg.RateLogin = RateLimit{PerSecond: 1.0 / 30, Burst: 1}
	cfg.RatePublic = RateLimit{PerSecond: 0.01, Burst: 1}
	h := newHarness(t, cfg)
	type answer struct {
		Code       int
		RetryAfter string
	}
	twice := func(method, path, token, body string) []answer {
		ip := randomIP()
		var out []answer
		for i := 0; i < 2; i++ {
			rec := hit(h.e, method, path, ip, token, body)
			out = append(out, answer{rec.Code, rec.Header().Get("Retry-After")})
		}
		return out
	}
	if diff := cmp.Diff([]answer{{200, ""}, {429, "4"}}, twice("GET", "/api/v1/apps", h.tokens["staff"], "")); diff != "" {
		t.Errorf("API (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]answer{{200, ""}, {429, "4"}}, twice("GET", "/login", "", "")); diff != "" {
		t.Errorf("page (-want +got):\n%s", diff)
	}
	cfg.RateIP = RateLimit{}
	h.cfg = cfg
	h.e = h.app(nil)
	login := `{"email":"staff@example.com","password":"` + testPassword + `"}`
	if diff := cmp.Diff([]answer{{200, ""}, {429, "30"}}, twice("POST", "/api/v1/auth/login", "", login)); diff != "" {
		t.Errorf("login (-want +got):\n%s", diff)
	}
	path := linkPath(h.makeLink(t, `{"owner":"manager@example.com","sensitive":["name","phone"]}`).URL)
	var got []answer
	for i := 0; i < 2; i++ {
		rec := h.postForm(path, publicVals(h.mustOpen(t, path), "retry", "0"), "203.0.113.77")
		got = append(got, answer{rec.Code, rec.Header().Get("Retry-After")})
	}
	if diff := cmp.Diff([]answer{{303, ""}, {429, "100"}}, got); diff != "" {
		t.Errorf("public form (-want +got):\n%s", diff)
	}
}

// redisRates is a rate store on the real Redis of FORMWORK_TEST_REDIS_ADDR;
// the test is skipped without one.
func redisRates(t *testing.T) *queue.RedisRates {
	t.Helper()
	addr := os.Getenv("FORMWORK_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("FORMWORK_TEST_REDIS_ADDR not set: shared rate limits need a real Redis")
	}
	r, err := queue.NewRedisRates(asynq.RedisClientOpt{Addr: addr, DB: rateRedisDB}, queue.RateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// TestSharedRateLimits runs two server instances on one store and one
// Redis, as two web nodes: together they allow each limit once, not
// twice — per address, per user, login attempts and public submissions —
// and probes stay unlimited.
func TestSharedRateLimits(t *testing.T) {
	cfg := testConfig()
	cfg.RateIP = RateLimit{PerSecond: 0.01, Burst: 6}
	cfg.RateUser = RateLimit{PerSecond: 0.01, Burst: 4}
	cfg.RateLogin = RateLimit{PerSecond: 0.01, Burst: 3}
	cfg.RatePublic = RateLimit{PerSecond: 0.01, Burst: 2}
	h := newHarness(t, cfg)
	// each node its own connection, as separate processes have
	nodes := []*echo.Echo{h.node(cfg, redisRates(t), nil, nil), h.node(cfg, redisRates(t), nil, nil)}
	codes := func(n int, req func(e *echo.Echo, i int) int) []int {
		var out []int
		for i := 0; i < n; i++ {
			out = append(out, req(nodes[i%2], i))
		}
		return out
	}

	ip := randomIP()
	got := codes(9, func(e *echo.Echo, _ int) int { return hit(e, "GET", "/login", ip, "", "").Code })
	if diff := cmp.Diff([]int{200, 200, 200, 200, 200, 200, 429, 429, 429}, got); diff != "" {
		t.Errorf("per address, burst 6 over two nodes (-want +got):\n%s", diff)
	}
	for i := 0; i < 50; i++ {
		for _, p := range []string{"/healthz", "/readyz"} {
			if rec := hit(nodes[i%2], "GET", p, ip, "", ""); rec.Code != http.StatusOK {
				t.Fatalf("probe %s from a limited address: %d", p, rec.Code)
			}
		}
	}

	// a user of their own, so an earlier run's count does not carry over
	user := fmt.Sprintf("rl%d", time.Now().UnixNano())
	h.addUser(user, "store1", "shop", "clerk")
	got = codes(6, func(e *echo.Echo, _ int) int {
		return hit(e, "GET", "/api/v1/apps", randomIP(), h.tokens[user], "").Code
	})
	if diff := cmp.Diff([]int{200, 200, 200, 200, 429, 429}, got); diff != "" {
		t.Errorf("per user, burst 4 over two nodes and six addresses (-want +got):\n%s", diff)
	}

	ip = randomIP()
	login := `{"email":"staff@example.com","password":"` + testPassword + `"}`
	got = codes(5, func(e *echo.Echo, _ int) int { return hit(e, "POST", "/api/v1/auth/login", ip, "", login).Code })
	if diff := cmp.Diff([]int{200, 200, 200, 429, 429}, got); diff != "" {
		t.Errorf("login attempts, burst 3 over two nodes (-want +got):\n%s", diff)
	}

	path := linkPath(h.makeLink(t, `{"owner":"manager@example.com","sensitive":["name","phone"]}`).URL)
	ip = randomIP()
	got = codes(4, func(e *echo.Echo, _ int) int {
		ft := h.mustOpen(t, path)
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(publicVals(ft, "shared", "0").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = ip + ":4000"
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code
	})
	if diff := cmp.Diff([]int{303, 303, 429, 429}, got); diff != "" {
		t.Errorf("public submissions, burst 2 over two nodes (-want +got):\n%s", diff)
	}
}

// TestRateLimitsFailOpen: with the shared store unreachable, requests are
// served under this node's own limits in memory, with one warning in the
// log, not one per request; after the back-off the store is asked again.
func TestRateLimitsFailOpen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	down, err := queue.NewRedisRates(asynq.RedisClientOpt{Addr: dead}, queue.RateOptions{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()

	cfg := testConfig()
	cfg.RateIP = RateLimit{PerSecond: 0.001, Burst: 5}
	h := newHarness(t, cfg)
	var mu sync.Mutex
	offset := time.Duration(0)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(offset)
	}
	var log bytes.Buffer
	e := h.node(cfg, down, clock, &log)
	warnings := func() int {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(log.String(), "rate limits: the shared store failed")
	}
	ip := randomIP()
	var got []int
	for i := 0; i < 7; i++ {
		got = append(got, hit(e, "GET", "/login", ip, "", "").Code)
	}
	if diff := cmp.Diff([]int{200, 200, 200, 200, 200, 429, 429}, got); diff != "" {
		t.Errorf("with Redis down, the node's own limit (-want +got):\n%s", diff)
	}
	if n := warnings(); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, log.String())
	}
	mu.Lock()
	offset = rateStoreBackoff + time.Second
	mu.Unlock()
	if code := hit(e, "GET", "/login", randomIP(), "", "").Code; code != http.StatusOK {
		t.Errorf("after the back-off: %d", code)
	}
	if n := warnings(); n != 2 {
		t.Errorf("%d warnings after the back-off, want 2 (the store asked again):\n%s", n, log.String())
	}
}

// BenchmarkRatesAllowMemory is one decision of a node on its own, to
// set against engine/queue's BenchmarkRedisRatesAllow.
func BenchmarkRatesAllowMemory(b *testing.B) {
	r := newRates(nil, time.Now, slog.Default())
	l := limit{"ip", RateLimit{PerSecond: 1e9, Burst: 1000}}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if ok, _ := r.allow(ctx, l, "192.0.2.1"); !ok {
			b.Fatal("refused")
		}
	}
}

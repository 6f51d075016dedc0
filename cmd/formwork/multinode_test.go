package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/queue/redistest"
	"formwork/engine/workflow"
)

// The login throttle the multi-node test runs with (FORMWORK_RATE_LOGIN):
// a refill so slow that what both nodes allow in total is the burst.
const (
	multinodeLoginRate  = 0.5
	multinodeLoginBurst = 10
)

// multinodeRedis is the Redis the multi-node test runs on, as a
// FORMWORK_REDIS_ADDR value: a redis-server of its own on a free port when
// one is installed, else FORMWORK_TEST_REDIS_ADDR (the role tests'
// database, wiped); the test is skipped with neither.
func multinodeRedis(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("redis-server"); err == nil {
		addr := freeAddr(t)
		_, port, _ := strings.Cut(addr, ":")
		cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		for deadline := time.Now().Add(10 * time.Second); ; {
			if reply, err := redistest.Command(addr, 0, "PING"); err == nil && reply == "+PONG" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redis-server on %s did not answer within 10s", addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("Redis: redis-server of its own on %s", addr)
		return "redis://" + addr + "/0"
	}
	// else the role tests' database on FORMWORK_TEST_REDIS_ADDR, or a skip
	addr := testRedis(t)
	t.Logf("Redis: %s database %d", addr, roleRedisDB)
	return fmt.Sprintf("redis://%s/%d", addr, roleRedisDB)
}

// timedShop is the shop example whose store manager's step reminds after
// a second and escalates to HQ after two, so its timers fire within the
// test.
func timedShop(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(shopBundle(t))
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	node := b["workflows"].([]any)[0].(map[string]any)["nodes"].([]any)[0].(map[string]any)
	node["timeout"] = map[string]any{"remind": "PT1S", "after": "PT2S", "action": "escalate", "to": map[string]any{"roles": []string{"hq_admin"}}}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "shop-timed.json")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// reply is one HTTP answer.
type reply struct {
	code   int
	header http.Header
	body   string
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// send sends one request and returns the answer; headers with the key
// "Cookie" are sent as they are.
func send(t *testing.T, method, u string, headers map[string]string, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Language", "en")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// pageLogin signs in through the login page of base, as a browser does,
// and returns the session cookie's value.
func pageLogin(t *testing.T, base, email, password string) string {
	t.Helper()
	r := send(t, "GET", base+"/login", nil, "")
	m := csrfField.FindStringSubmatch(r.body)
	login := cookieOf(r.header, "fw_login")
	if r.code != http.StatusOK || m == nil || login == "" {
		t.Fatalf("login page: %d, csrf %v, cookie %q", r.code, m, login)
	}
	form := url.Values{"email": {email}, "password": {password}, "_csrf": {m[1]}}
	r = send(t, "POST", base+"/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": "fw_login=" + login}, form.Encode())
	session := cookieOf(r.header, "fw_session")
	if r.code != http.StatusSeeOther || session == "" {
		t.Fatalf("login as %s: %d %s", email, r.code, r.body)
	}
	return session
}

func cookieOf(h http.Header, name string) string {
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == name && ck.Value != "" {
			return ck.Value
		}
	}
	return ""
}

// TestMultiNode runs an installation as it is deployed: two web processes
// and one worker process on one store (a SQLite file) and one real Redis.
// A session made on one web node works on the other; a user frozen on one
// is refused on the other at their very next request, though both nodes
// served them just before; the login throttle holds in total across both
// nodes; a workflow submitted on one node is approved on the other and its
// reminder and escalation fire in the worker; and killing one web node
// with SIGKILL in the middle of a burst loses nothing it acknowledged.
func TestMultiNode(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-node test with subprocesses: skipped under -short")
	}
	start := time.Now()
	env := append(cleanEnv(), envRedisAddr+"="+multinodeRedis(t),
		// the test is the nodes' proxy: X-Forwarded-For gives each client
		// its own address, so the per-address limit is each client's own
		"FORMWORK_TRUST_PROXY=1",
		fmt.Sprintf("FORMWORK_RATE_LOGIN=%g:%d", multinodeLoginRate, multinodeLoginBurst))

	data := seedShop(t, timedShop(t))
	const password = shopPassword
	// one at a time: each applies the store's migrations as it starts
	worker := startProc(t, env, "worker running", "--data", data, "serve", "--role", "worker")
	addrA, addrB := freeAddr(t), freeAddr(t)
	nodeA := startProc(t, env, "listening", "--data", data, "serve", "--role", "web", "--addr", addrA)
	nodeB := startProc(t, env, "listening", "--data", data, "serve", "--role", "web", "--addr", addrB)
	baseA, baseB := "http://"+addrA, "http://"+addrB
	logs := func() string {
		return "worker:\n" + tail(worker.log(), 2000) + "\nnode A:\n" + tail(nodeA.log(), 2000) + "\nnode B:\n" + tail(nodeB.log(), 2000)
	}
	defer func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs())
		}
	}()

	admin := login(t, baseA, "admin@example.com", password)
	admin.ip = "198.51.100.1"
	users := map[string]string{}
	for _, u := range []struct {
		key, name string
		roles     map[string][]string
	}{
		{"clerk", "店员", map[string][]string{"shop": {"store_manager"}}},
		{"head", "店长", nil},
		{"hq", "总部", map[string][]string{"shop": {"hq_admin"}}},
		{"temp", "临时工", map[string][]string{"shop": {"store_manager"}}},
	} {
		var out struct {
			ID string `json:"id"`
		}
		unit := "store1"
		if u.key == "hq" {
			unit = "hq"
		}
		if _, err := admin.call("POST", "/api/v1/users", map[string]any{"email": u.key + "@example.com", "name": u.name, "password": password, "unit": unit, "roles": u.roles}, &out); err != nil {
			t.Fatal(err)
		}
		users[u.key] = out.ID
	}
	if _, err := admin.call("PATCH", "/api/v1/units/store1", map[string]any{"head": users["head"]}, nil); err != nil {
		t.Fatal(err)
	}

	t.Run("session", func(t *testing.T) {
		session := pageLogin(t, baseA, "clerk@example.com", password)
		if r := send(t, "GET", baseB+"/", map[string]string{"Cookie": "fw_session=" + session}, ""); r.code != http.StatusOK || !strings.Contains(r.body, "店员") {
			t.Errorf("node B with node A's session: %d", r.code)
		}
		api := login(t, baseB, "clerk@example.com", password)
		if r := send(t, "GET", baseA+"/api/v1/apps", map[string]string{"Authorization": "Bearer " + api.token}, ""); r.code != http.StatusOK {
			t.Errorf("node A with node B's token: %d %s", r.code, r.body)
		}
	})

	t.Run("freeze", func(t *testing.T) {
		session := pageLogin(t, baseB, "temp@example.com", password)
		token := login(t, baseA, "temp@example.com", password).token
		asSession := map[string]string{"Cookie": "fw_session=" + session}
		asToken := map[string]string{"Authorization": "Bearer " + token}
		// both nodes have served them, more than once, just before
		for i := 0; i < 3; i++ {
			for _, base := range []string{baseA, baseB} {
				if r := send(t, "GET", base+"/", asSession, ""); r.code != http.StatusOK {
					t.Fatalf("%s/ before the freeze: %d", base, r.code)
				}
				if r := send(t, "GET", base+"/api/v1/apps", asToken, ""); r.code != http.StatusOK {
					t.Fatalf("%s/api/v1/apps before the freeze: %d", base, r.code)
				}
			}
		}
		if _, err := admin.call("POST", "/api/v1/users/"+users["temp"]+"/freeze", nil, nil); err != nil {
			t.Fatal(err)
		}
		// the very next request on node B, then on node A
		for _, base := range []string{baseB, baseA} {
			if r := send(t, "GET", base+"/api/v1/apps", asToken, ""); r.code != http.StatusLocked {
				t.Errorf("%s API right after the freeze on node A: %d %s", base, r.code, r.body)
			}
			if r := send(t, "GET", base+"/", asSession, ""); r.code != http.StatusLocked {
				t.Errorf("%s page right after the freeze on node A: %d", base, r.code)
			}
		}
		body := `{"email":"temp@example.com","password":"` + password + `"}`
		if r := send(t, "POST", baseB+"/api/v1/auth/login", map[string]string{"Content-Type": "application/json"}, body); r.code != http.StatusLocked {
			t.Errorf("login on node B after the freeze: %d %s", r.code, r.body)
		}
	})

	t.Run("shared login throttle", func(t *testing.T) {
		// 3×burst attempts from one address, alternating between the nodes:
		// together they allow the burst (and what refills meanwhile), not
		// the burst each
		const attempts = 3 * multinodeLoginBurst
		var allowed, refused atomic.Int64
		var retryAfter atomic.Value
		work := make(chan int)
		var wg sync.WaitGroup
		began := time.Now()
		for c := 0; c < 6; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					base := []string{baseA, baseB}[i%2]
					req, _ := http.NewRequest("POST", base+"/api/v1/auth/login", strings.NewReader(`{"email":"nobody@example.com","password":"not the password"}`))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Forwarded-For", "203.0.113.50")
					resp, err := noRedirect.Do(req)
					if err != nil {
						t.Error(err)
						continue
					}
					resp.Body.Close()
					if resp.StatusCode == http.StatusTooManyRequests {
						refused.Add(1)
						retryAfter.Store(resp.Header.Get("Retry-After"))
					} else {
						allowed.Add(1)
					}
				}
			}()
		}
		for i := 0; i < attempts; i++ {
			work <- i
		}
		close(work)
		wg.Wait()
		elapsed := time.Since(began)
		most := multinodeLoginBurst + int64(math.Ceil(multinodeLoginRate*elapsed.Seconds()))
		t.Logf("%d of %d login attempts allowed over both nodes in %s (at most %d shared, at least %d if each node counted alone)",
			allowed.Load(), attempts, elapsed.Round(time.Millisecond), most, 2*multinodeLoginBurst)
		if a := allowed.Load(); a < multinodeLoginBurst || a > most {
			t.Errorf("%d login attempts allowed, want %d to %d", a, multinodeLoginBurst, most)
		}
		if most >= 2*multinodeLoginBurst {
			t.Errorf("the attempts took %s: too slow to tell a shared limit from two", elapsed)
		}
		if ra, _ := retryAfter.Load().(string); ra == "" {
			t.Error("a refused login has no Retry-After")
		}
	})

	clerk := login(t, baseA, "clerk@example.com", password)
	clerk.ip = "198.51.100.2"
	type record struct {
		ID     string         `json:"id"`
		Status string         `json:"status"`
		Data   map[string]any `json:"data"`
	}
	submit := func(api *apiClient, name string) (record, error) {
		var rec record
		_, err := api.call("POST", "/api/v1/apps/shop/forms/customer/records", map[string]any{"data": map[string]any{
			"name": name, "phone": "13912345678", "level": "normal", "discount": 0.15}}, &rec)
		return rec, err
	}

	t.Run("workflow", func(t *testing.T) {
		// submitted on node A, approved on node B
		r1, err := submit(clerk, "多节点一")
		if err != nil || r1.Status != engine.StatusInReview {
			t.Fatalf("submit on node A: %+v %v", r1, err)
		}
		head := login(t, baseB, "head@example.com", password)
		head.ip = "198.51.100.3"
		var inbox struct {
			Items []workflow.Task `json:"items"`
		}
		if _, err := head.call("GET", "/api/v1/tasks?status=open&limit=1000", nil, &inbox); err != nil {
			t.Fatal(err)
		}
		task := ""
		for _, tk := range inbox.Items {
			if tk.Record == r1.ID {
				task = tk.ID
			}
		}
		if task == "" {
			t.Fatalf("record %s submitted on node A is not in the approver's inbox on node B", r1.ID)
		}
		if _, err := head.call("POST", "/api/v1/tasks/"+task+"/approve", map[string]string{"comment": "ok"}, nil); err != nil {
			t.Fatal(err)
		}
		var got record
		if _, err := admin.call("GET", "/api/v1/apps/shop/forms/customer/records/"+r1.ID, nil, &got); err != nil {
			t.Fatal(err)
		}
		if got.Status != engine.StatusApproved || got.Data["level"] != "vip" {
			t.Errorf("after approval on node B, node A reads %s, level %v", got.Status, got.Data["level"])
		}

		// left alone, the store manager's step reminds and escalates to HQ:
		// the worker runs the timers
		clerkB := &apiClient{base: baseB, token: clerk.token, ip: clerk.ip, c: clerk.c}
		r2, err := submit(clerkB, "多节点二")
		if err != nil {
			t.Fatal(err)
		}
		// (HQ's role needs a second factor, so the test reads who the step
		// escalated to from the timeline rather than from HQ's inbox)
		kinds, escalatedTo := map[string]bool{}, map[string]bool{}
		for deadline := time.Now().Add(30 * time.Second); !(kinds["remind"] && kinds["escalate"]) && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
			var tl struct {
				Items []workflow.Step `json:"items"`
			}
			if _, err := admin.call("GET", "/api/v1/apps/shop/forms/customer/records/"+r2.ID+"/timeline", nil, &tl); err != nil {
				t.Fatal(err)
			}
			for _, s := range tl.Items {
				kinds[s.Kind] = true
				for _, u := range s.Users {
					escalatedTo[u] = escalatedTo[u] || s.Kind == "escalate"
				}
			}
		}
		if !kinds["remind"] || !kinds["escalate"] {
			t.Fatalf("within 30s the timeline of %s has %v, want remind and escalate", r2.ID, kinds)
		}
		if !escalatedTo[users["hq"]] {
			t.Errorf("record %s escalated to %v, not to HQ (%s)", r2.ID, escalatedTo, users["hq"])
		}
	})

	t.Run("kill a web node", func(t *testing.T) {
		// 8 clients, each alternating between the nodes; node B dies with
		// SIGKILL after killAfter acknowledgements, and its clients go on
		// on node A, as a load balancer would send them
		const clients, perClient, killAfter = 8, 12, 30
		var (
			mu    sync.Mutex
			acked []string
			n     atomic.Int64
			dying atomic.Bool
			once  sync.Once
			wg    sync.WaitGroup
			lost  atomic.Int64
		)
		kill := func() { once.Do(func() { dying.Store(true); nodeB.kill() }) }
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				apis := []*apiClient{
					{base: baseA, token: clerk.token, ip: fmt.Sprintf("198.51.100.%d", 10+c), c: clerk.c},
					{base: baseB, token: clerk.token, ip: fmt.Sprintf("198.51.100.%d", 10+c), c: clerk.c},
				}
				for i := 0; i < perClient; i++ {
					api := apis[i%2]
					if api.base == baseB && dying.Load() {
						api = apis[0]
					}
					rec, err := submit(api, fmt.Sprintf("压测%d-%d", c, i))
					if err != nil {
						if api.base == baseB && dying.Load() {
							lost.Add(1) // not acknowledged: does not count
							continue
						}
						t.Errorf("submission on %s: %v", api.base, err)
						return
					}
					mu.Lock()
					acked = append(acked, rec.ID)
					mu.Unlock()
					if n.Add(1) == killAfter {
						kill()
					}
				}
			}(c)
		}
		wg.Wait()
		kill()
		t.Logf("%d submissions acknowledged, %d cut off by the kill", len(acked), lost.Load())
		if len(acked) < killAfter {
			t.Fatalf("only %d acknowledged", len(acked))
		}
		for _, id := range acked {
			var rec record
			if _, err := admin.call("GET", "/api/v1/apps/shop/forms/customer/records/"+id, nil, &rec); err != nil {
				t.Errorf("acknowledged record %s: %v", id, err)
			} else if rec.Status != engine.StatusInReview {
				t.Errorf("acknowledged record %s: %s, want in_review", id, rec.Status)
			}
		}
	})
	t.Logf("multi-node test: %s", time.Since(start).Round(time.Millisecond))
}

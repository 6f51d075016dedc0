package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/queue/redistest"
	"formwork/engine/store/sqlite"
	"formwork/engine/workflow"
)

// durabilityRedisDB is the Redis database the durability test uses on a
// real Redis: wiping it (FLUSHDB) leaves other tests' databases alone,
// which FLUSHALL on a shared server would not.
const durabilityRedisDB = 9

// shopBundle finds the shop example: ../shared/examples/shop.json next to
// the repository, else the server tests' copy of it.
func shopBundle(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
	for _, p := range []string{filepath.Join(dir, "..", "shared", "examples", "shop.json"), filepath.Join(dir, "server", "testdata", "shop.json")} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	tb.Fatal("shop.json not found")
	return ""
}

// shopPassword is the password of the users seedShop and the tests make.
const shopPassword = "a long and fine password"

// seedShop makes a data directory with an admin (admin@example.com), the
// unit store1 and the shop app of bundle, offline through the CLI.
func seedShop(t *testing.T, bundle string) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{
		{"user", "create", "--email", "admin@example.com", "--name", "管理员", "--unit", "hq", "--admin", "--password-stdin"},
		{"unit", "create", "--key", "store1", "--name", "一号店"},
		{"app", "import", bundle},
	} {
		if out, code := run(t, data, shopPassword+"\n", args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, out)
		}
	}
	return data
}

// server is one `formwork serve` subprocess.
type serveProc struct {
	cmd    *exec.Cmd
	exited chan error
	stderr *bytes.Buffer
	out    *lockedWriter // writes stderr
}

// spawn runs the binary with args and env until the test ends.
func spawn(t *testing.T, env []string, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{exited: make(chan error, 1), stderr: &bytes.Buffer{}}
	p.out = &lockedWriter{w: p.stderr}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = env
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func startServe(t *testing.T, data, addr string, env []string) *serveProc {
	t.Helper()
	p := spawn(t, env, "--data", data, "serve", "--addr", addr)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.exited:
			t.Fatalf("serve exited before it was ready: %v\n%s", err, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after 20s:\n%s", p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill stops the server with SIGKILL: no shutdown code runs. It may be
// called from any goroutine.
func (p *serveProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// stop stops the server gracefully.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Errorf("serve did not stop within 15s")
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// apiClient calls the JSON API of one server address with a bearer token,
// waiting out rate limits (429).
type apiClient struct {
	base  string
	token string
	ip    string // X-Forwarded-For, when the server trusts the test as its proxy
	c     *http.Client
}

func (a *apiClient) call(method, path string, body any, out any) (int, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return 0, err
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(method, a.base+path, bytes.NewReader(raw))
		if err != nil {
			return 0, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if a.token != "" {
			req.Header.Set("Authorization", "Bearer "+a.token)
		}
		if a.ip != "" {
			req.Header.Set("X-Forwarded-For", a.ip)
		}
		resp, err := a.c.Do(req)
		if err != nil {
			return 0, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		if resp.StatusCode == http.StatusTooManyRequests && attempt < 50 {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if out != nil && resp.StatusCode < 300 {
			if err := json.Unmarshal(b, out); err != nil {
				return resp.StatusCode, fmt.Errorf("%s %s: decode %s: %w", method, path, b, err)
			}
		}
		if resp.StatusCode >= 300 {
			return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return resp.StatusCode, nil
	}
}

func login(t *testing.T, base, email, password string) *apiClient {
	t.Helper()
	a := &apiClient{base: base, c: &http.Client{Timeout: 30 * time.Second}}
	var out struct {
		Token string `json:"token"`
	}
	if _, err := a.call("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password}, &out); err != nil {
		t.Fatal(err)
	}
	a.token = out.Token
	return a
}

// addShopStaff adds, through admin, the shop's clerk@example.com (a
// store manager in store1, who submits) and head@example.com (store1's
// head, who approves), both with password.
func addShopStaff(t *testing.T, admin *apiClient, password string) {
	t.Helper()
	var clerk, head struct {
		ID string `json:"id"`
	}
	if _, err := admin.call("POST", "/api/v1/users", map[string]any{"email": "clerk@example.com", "name": "店员", "password": password, "unit": "store1",
		"roles": map[string][]string{"shop": {"store_manager"}}}, &clerk); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.call("POST", "/api/v1/users", map[string]any{"email": "head@example.com", "name": "店长", "password": password, "unit": "store1"}, &head); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.call("PATCH", "/api/v1/units/store1", map[string]any{"head": head.ID}, nil); err != nil {
		t.Fatal(err)
	}
}

// hookLog is the webhook receiver: which notification kinds arrived for
// which records.
type hookLog struct {
	mu   sync.Mutex
	seen map[string]bool // kind + " " + record
}

func (h *hookLog) has(kind, record string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen[kind+" "+record]
}

// TestDurabilityKillDuringBurst runs `formwork serve` as a subprocess,
// kills it with SIGKILL in the middle of a burst of discount submissions
// and restarts it: every submission the server acknowledged must reach
// the store head's inbox and be approvable to the end. The second round
// also wipes the queue while the server is down (FLUSHDB of the test's
// Redis database, or the embedded queue, which dies with the process
// anyway) and checks that every notification still goes out through the
// webhook channel and the outbox drains.
func TestDurabilityKillDuringBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("durability test with subprocesses: skipped under -short")
	}
	start := time.Now()
	env := cleanEnv()
	redisAddr := os.Getenv("FORMWORK_TEST_REDIS_ADDR")
	wipe := func(t *testing.T) {}
	if redisAddr != "" {
		env = append(env, fmt.Sprintf("%s=redis://%s/%d", envRedisAddr, redisAddr, durabilityRedisDB))
		wipe = func(t *testing.T) {
			t.Helper()
			if _, err := redistest.Command(redisAddr, durabilityRedisDB, "FLUSHDB"); err != nil {
				t.Fatal(err)
			}
		}
		wipe(t)
		t.Cleanup(func() { wipe(t) })
		t.Logf("queue: real Redis %s db %d", redisAddr, durabilityRedisDB)
	} else {
		t.Log("queue: embedded (set FORMWORK_TEST_REDIS_ADDR for a real Redis)")
	}
	hooks := &hookLog{seen: map[string]bool{}}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m engine.PluginMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err == nil {
			hooks.mu.Lock()
			hooks.seen[m.Kind+" "+m.Record] = true
			hooks.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	env = append(env, "FORMWORK_WEBHOOK_URL="+hook.URL, "FORMWORK_WEBHOOK_SECRET=durability-test-secret")

	data := seedShop(t, shopBundle(t))
	const password = shopPassword
	addr := freeAddr(t)
	base := "http://" + addr
	srv := startServe(t, data, addr, env)

	// the clerk (store manager role) submits; the store's head approves
	admin := login(t, base, "admin@example.com", password)
	addShopStaff(t, admin, password)

	var acked []string // records the server acknowledged, over both rounds
	for round, wipeQueue := range []bool{false, true} {
		clerkAPI := login(t, base, "clerk@example.com", password)
		victim := srv
		// a burst from 8 clients; the server dies under it
		const clients, perClient, killAfter = 8, 8, 20
		var (
			mu     sync.Mutex
			ids    []string
			n      atomic.Int64
			dying  atomic.Bool
			killed = make(chan struct{})
			once   sync.Once
			wg     sync.WaitGroup
		)
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				for i := 0; i < perClient; i++ {
					var rec struct {
						ID     string `json:"id"`
						Status string `json:"status"`
					}
					_, err := clerkAPI.call("POST", "/api/v1/apps/shop/forms/customer/records", map[string]any{"data": map[string]any{
						"name": fmt.Sprintf("客户%d-%d-%d", round, c, i), "phone": "13912345678", "level": "normal", "discount": 0.15}}, &rec)
					if err != nil {
						if !dying.Load() {
							t.Errorf("submission before the kill failed: %v", err)
						}
						return // the server is gone: what was not acknowledged does not count
					}
					if rec.Status != engine.StatusInReview {
						t.Errorf("record %s: status %s, want in_review", rec.ID, rec.Status)
					}
					mu.Lock()
					ids = append(ids, rec.ID)
					mu.Unlock()
					if n.Add(1) == killAfter {
						once.Do(func() { dying.Store(true); victim.kill(); close(killed) })
					}
				}
			}(c)
		}
		wg.Wait()
		once.Do(func() { dying.Store(true); victim.kill(); close(killed) })
		<-killed
		t.Logf("round %d: %d submissions acknowledged before SIGKILL", round, len(ids))
		if len(ids) < killAfter {
			t.Fatalf("round %d: only %d acknowledged", round, len(ids))
		}
		acked = append(acked, ids...)
		if wipeQueue {
			wipe(t)
		}
		srv = startServe(t, data, addr, env)

		// every acknowledged submission is in the head's inbox
		headAPI := login(t, base, "head@example.com", password)
		var inbox struct {
			Items []workflow.Task `json:"items"`
		}
		if _, err := headAPI.call("GET", "/api/v1/tasks?status=open&limit=1000", nil, &inbox); err != nil {
			t.Fatal(err)
		}
		taskOf := map[string]string{}
		for _, tk := range inbox.Items {
			taskOf[tk.Record] = tk.ID
		}
		for _, id := range ids {
			if taskOf[id] == "" {
				t.Errorf("round %d: acknowledged record %s is not in the approver's inbox", round, id)
			}
		}
		// approve them all with 8 approver sessions at once
		work := make(chan string)
		var awg sync.WaitGroup
		for c := 0; c < 8; c++ {
			awg.Add(1)
			go func() {
				defer awg.Done()
				for task := range work {
					if _, err := headAPI.call("POST", "/api/v1/tasks/"+task+"/approve", map[string]string{"comment": "ok"}, nil); err != nil {
						t.Errorf("approve %s: %v", task, err)
					}
				}
			}()
		}
		for _, id := range ids {
			if task := taskOf[id]; task != "" {
				work <- task
			}
		}
		close(work)
		awg.Wait()
		for _, id := range ids {
			var rec struct {
				Status string         `json:"status"`
				Data   map[string]any `json:"data"`
			}
			if _, err := admin.call("GET", "/api/v1/apps/shop/forms/customer/records/"+id, nil, &rec); err != nil {
				t.Errorf("record %s: %v", id, err)
				continue
			}
			if rec.Status != engine.StatusApproved || rec.Data["level"] != "vip" {
				t.Errorf("round %d: record %s after approval: %s level %v", round, id, rec.Status, rec.Data["level"])
			}
		}
		if t.Failed() {
			t.Fatalf("round %d failed\nserver log:\n%s", round, tail(srv.stderr.String(), 3000))
		}
	}

	// every notification of every acknowledged record went out — the
	// approver's task and the submitter's result — though the queue was
	// wiped and the server killed twice
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range acked {
		for _, kind := range []string{"task", "result"} {
			for !hooks.has(kind, id) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if !hooks.has(kind, id) {
				t.Errorf("no %s notification delivered for record %s", kind, id)
			}
		}
	}
	srv.stop(t)
	st, err := sqlite.Open(filepath.Join(data, dbFile), sqlite.Options{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	due, err := st.FindOutbox(context.Background(), time.Now(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range due {
		t.Errorf("outbox job %s (%s) due at %s never completed", j.ID, j.Type, j.RunAt)
	}
	t.Logf("%d submissions acknowledged over two kills, all approved; %s", len(acked), time.Since(start).Round(time.Millisecond))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

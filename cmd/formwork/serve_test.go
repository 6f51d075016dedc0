package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"

	"formwork/engine"
	"formwork/engine/queue"
	"formwork/engine/store/sqlite"
)

// binary is the formwork binary built once for the subprocess tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "formwork-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binary = filepath.Join(dir, "formwork")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build formwork:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// cleanEnv is the environment without the scale-out switches, so the tests
// run on the embedded default whatever the caller's shell has.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, envMongoURI+"=") || strings.HasPrefix(kv, envRedisAddr+"=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func TestServeBecomesHealthyAndStopsCleanly(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	var stderr bytes.Buffer
	cmd := exec.Command(binary, "--data", data, "serve", "--addr", addr)
	cmd.Env = cleanEnv()
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	client := &http.Client{Timeout: time.Second}
	get := func(path string) (int, string, string, error) {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			return 0, "", "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b), nil
	}
	var healthyAfter time.Duration
	for {
		if code, _, body, err := get("/healthz"); err == nil && code == http.StatusOK {
			healthyAfter = time.Since(start)
			if diff := cmp.Diff(`{"status":"ok"}`, strings.TrimSpace(body)); diff != "" {
				t.Errorf("/healthz body (-want +got):\n%s", diff)
			}
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("serve exited before it was healthy: %v\n%s", err, stderr.String())
		default:
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("not healthy after 15s\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// How soon it is healthy is logged, not asserted: a loaded machine
	// makes any bound here fail sometimes (15 s above is the give-up).
	t.Logf("healthy %s after start", healthyAfter.Round(time.Millisecond))
	if code, _, body, err := get("/readyz"); err != nil || code != http.StatusOK {
		t.Errorf("/readyz = %d %q, %v", code, body, err)
	}
	if fi, err := os.Stat(data); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir: %v, %v; want mode 0700", fi.Mode().Perm(), err)
	}
	if _, err := os.Stat(filepath.Join(data, dbFile)); err != nil {
		t.Errorf("store file: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not exit within 20s of SIGTERM\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("no shutdown in the log:\n%s", stderr.String())
	}
}

// run runs the binary with args and stdin, returning its output and exit code.
func run(tb testing.TB, data, stdin string, args ...string) (string, int) {
	tb.Helper()
	return runEnv(tb, cleanEnv(), data, stdin, args...)
}

// runEnv is run with the environment env.
func runEnv(tb testing.TB, env []string, data, stdin string, args ...string) (string, int) {
	tb.Helper()
	cmd := exec.Command(binary, append([]string{"--data", data}, args...)...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	default:
		tb.Fatalf("run %v: %v", args, err)
		return "", -1
	}
}

// seedData returns a new data directory with the administrator
// admin@example.com (password) in unit hq, after running each of cmds.
func seedData(tb testing.TB, password string, cmds ...[]string) string {
	tb.Helper()
	data := filepath.Join(tb.TempDir(), "data")
	admin := []string{"user", "create", "--email", "admin@example.com", "--name", "管理员", "--unit", "hq", "--admin", "--password-stdin"}
	for _, args := range append([][]string{admin}, cmds...) {
		if out, code := run(tb, data, password+"\n", args...); code != 0 {
			tb.Fatalf("%v: exit %d: %s", args, code, out)
		}
	}
	return data
}

// copyData copies a stopped store's data directory.
func copyData(tb testing.TB, from string) string {
	tb.Helper()
	to := filepath.Join(tb.TempDir(), "data")
	if err := os.MkdirAll(to, 0o700); err != nil {
		tb.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return to
}

// tamper runs SQL statements directly on the store's file, as an attacker
// with access to the disk could.
func tamper(tb testing.TB, data string, stmts ...string) {
	tb.Helper()
	db, err := sql.Open("sqlite", filepath.Join(data, dbFile))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			tb.Fatalf("%s: %v", s, err)
		}
	}
}

func TestCLIUnitUserAndAuditVerify(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")

	steps := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"migrate", "", []string{"migrate"}, 0, "applied 0001_root_unit"},
		{"migrate again", "", []string{"migrate"}, 0, "up to date"},
		{"unit create", "", []string{"unit", "create", "--key", "east", "--name", "华东大区", "--parent", "hq"}, 0, "created unit east"},
		{"unit create under east", "", []string{"unit", "create", "--key", "sh01", "--name", "上海一店", "--parent", "east"}, 0, "created unit sh01"},
		{"unit create duplicate", "", []string{"unit", "create", "--key", "east", "--name", "x"}, 1, "conflict"},
		{"unit create bad key", "", []string{"unit", "create", "--key", "East!", "--name", "x"}, 1, "/key"},
		{"unit create unknown parent", "", []string{"unit", "create", "--key", "north", "--name", "x", "--parent", "nowhere"}, 1, "/parent"},
		{"user create", "a long and fine password\n", []string{"user", "create", "--email", "Boss@Example.com", "--name", "老板", "--unit", "sh01", "--admin", "--password-stdin"}, 0, "<boss@example.com>"},
		{"user create duplicate", "a long and fine password\n", []string{"user", "create", "--email", "boss@example.com", "--name", "x", "--unit", "hq", "--password-stdin"}, 1, "conflict"},
		{"user create weak password", "password123\n", []string{"user", "create", "--email", "b@example.com", "--name", "x", "--unit", "hq", "--password-stdin"}, 1, "/password"},
		{"user create without stdin flag", "", []string{"user", "create", "--email", "c@example.com", "--name", "x", "--unit", "hq"}, 1, "--password-stdin"},
		{"user create auditor", "a long and fine password\n", []string{"user", "create", "--email", "audit@example.com", "--name", "审计", "--unit", "hq", "--auditor", "--password-stdin"}, 0, "<audit@example.com>"},
		{"user create auditor and admin", "a long and fine password\n", []string{"user", "create", "--email", "a2@example.com", "--name", "x", "--unit", "hq", "--auditor", "--admin", "--password-stdin"}, 1, "/auditor"},
		// 0001 writes unit.create + migration.apply, 0002 its migration.apply
		// (no records to number); then two units and two users.
		{"audit verify", "", []string{"audit", "verify"}, 0, "ok: 7 events"},
	}
	for _, st := range steps {
		out, code := run(t, data, st.stdin, st.args...)
		if code != st.wantCode || !strings.Contains(out, st.wantOut) {
			t.Errorf("%s: exit %d, output %q; want exit %d and %q", st.name, code, out, st.wantCode, st.wantOut)
		}
	}

	tampers := []struct {
		name    string
		stmts   []string
		wantOut string
	}{
		{"edited", []string{`UPDATE audit SET actor = 'mallory' WHERE seq = 3`}, "broken: event 3: hash mismatch"},
		{"deleted", []string{`DELETE FROM audit WHERE seq = 2`}, "broken: event 3: sequence gap"},
		{"swapped", []string{
			`UPDATE audit SET seq = -1 WHERE seq = 2`,
			`UPDATE audit SET seq = 2 WHERE seq = 3`,
			`UPDATE audit SET seq = 3 WHERE seq = -1`,
		}, "broken: event 2: previous-hash mismatch"},
		{"last one edited", []string{`UPDATE audit SET detail = CAST('{}' AS BLOB) WHERE seq = 5`}, "broken: event 5: hash mismatch"},
	}
	for _, tc := range tampers {
		t.Run(tc.name, func(t *testing.T) {
			d := copyData(t, data)
			if out, code := run(t, d, "", "audit", "verify"); code != 0 {
				t.Fatalf("copy does not verify before tampering: %d %q", code, out)
			}
			tamper(t, d, tc.stmts...)
			out, code := run(t, d, "", "audit", "verify")
			if code != 1 || !strings.Contains(out, tc.wantOut) {
				t.Errorf("exit %d, output %q; want exit 1 and %q", code, out, tc.wantOut)
			}
		})
	}
}

func TestReadyzReportsAClosedStore(t *testing.T) {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), dbFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := queue.StartEmbedded(queue.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	q := queue.NewClient(e.ConnOpt())
	defer q.Close()
	d := &Deps{Store: s, Queue: q, Org: engine.NewOrg(s, time.Now), Clock: time.Now, Log: newLogger(io.Discard)}
	h := newHTTP(d)

	tests := []struct {
		name       string
		before     func()
		wantStatus int
		wantType   string
		wantDetail string
	}{
		{"ready", func() {}, http.StatusOK, "application/json", ""},
		{"queue down", e.Close, http.StatusServiceUnavailable, "application/problem+json", "the queue is not reachable"},
		{"store closed", func() { s.Close() }, http.StatusServiceUnavailable, "application/problem+json", "the store is not reachable"},
	}
	for _, tc := range tests {
		tc.before()
		rec := httptest.NewRecorder()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil).WithContext(ctx))
		cancel()
		if rec.Code != tc.wantStatus || !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.wantType) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, rec.Code, rec.Header().Get("Content-Type"), tc.wantStatus, tc.wantType)
		}
		if tc.wantDetail != "" {
			var p struct {
				Status int    `json:"status"`
				Detail string `json:"detail"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Detail != tc.wantDetail || p.Status != tc.wantStatus {
				t.Errorf("%s: problem %+v (%v), want detail %q", tc.name, p, err, tc.wantDetail)
			}
		}
	}
}

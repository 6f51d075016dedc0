package main

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestServeMetrics: with --metrics-addr, serve answers /metrics on that
// address (not on the public one) in Prometheus text format, counting the
// requests it answered by route and status; /debug/pprof/ there wants the
// FORMWORK_PPROF_TOKEN bearer token.
func TestServeMetrics(t *testing.T) {
	addr, maddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(binary, "--data", t.TempDir(), "serve", "--addr", addr, "--metrics-addr", maddr)
	cmd.Env = append(cleanEnv(), "FORMWORK_PPROF_TOKEN=s3cret-token")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	get := func(url, token string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := get("http://"+addr+"/login", ""); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not answer /login within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, body := get("http://"+maddr+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	for _, want := range []string{`formwork_http_requests_total{method="GET",route="/login",status="200"}`, "formwork_http_request_duration_seconds_bucket", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, _ := get("http://"+addr+"/metrics", ""); code == http.StatusOK {
		t.Error("/metrics is served on the public address too")
	}
	if code, _ := get("http://"+maddr+"/debug/pprof/", ""); code != http.StatusUnauthorized {
		t.Errorf("pprof without the token: %d, want 401", code)
	}
	if code, _ := get("http://"+maddr+"/debug/pprof/", "s3cret-token"); code != http.StatusOK {
		t.Errorf("pprof with the token: %d, want 200", code)
	}
}

package main

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoginBurstMemory: 64 people signing in at once (a shift starting,
// the rate limits off as behind a proxy of many offices) keep serve within
// a pod's memory. Each password check holds 19 MiB while it runs; run all
// at once they took the process to 837 MB resident for 40 logins. Now at
// most one per processor runs, and every login still succeeds.
func TestLoginBurstMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("CLI test with a server process: skipped under -short")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc: the process's peak memory cannot be read here")
	}
	const password = "a long and fine password"
	data := seedData(t, password)
	addr := freeAddr(t)
	proc := startServe(t, data, addr, append(cleanEnv(), "FORMWORK_RATE_IP=0", "FORMWORK_RATE_USER=0", "FORMWORK_RATE_LOGIN=0"))
	base := "http://" + addr
	const logins = 64
	var wg sync.WaitGroup
	codes := make([]int, logins)
	start := time.Now()
	for i := range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"email":"admin@example.com","password":%q}`, password)
			resp, err := http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(body))
			if err != nil {
				t.Errorf("login %d: %v", i, err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("login %d: %d, want 200", i, c)
		}
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", proc.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	peak := 0
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			peak, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	// the server's own ~100 MB, and a little over two checks' memory per
	// processor it may run them on (live, and garbage not yet collected)
	limit := 150<<10 + runtime.NumCPU()*45<<10
	t.Logf("%d logins at once in %v: peak resident %d MiB (limit %d MiB, %d processors)", logins, time.Since(start).Round(time.Millisecond), peak>>10, limit>>10, runtime.NumCPU())
	if peak == 0 || peak > limit {
		t.Errorf("peak resident memory %d KiB, want at most %d KiB", peak, limit)
	}
}

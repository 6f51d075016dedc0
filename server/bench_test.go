package server

import (
	"fmt"
	"formwork/engine/store/storetest"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchHTTP runs b.N requests from clients concurrent clients against a
// loopback server and reports requests/s and latency percentiles.
func benchHTTP(b *testing.B, clients int, setup func(h *harness) func(c *http.Client, base string, i int) int) {
	h := newHarness(b, testConfig())
	benchServe(b, h, clients, setup(h))
}

// benchServe is benchHTTP on a harness the caller made. Besides wall time
// it reports the process's CPU time and context switches per request
// (server and client, which share the process): on a shared machine they
// say what a request cost when wall time says mostly how busy the
// neighbours were.
func benchServe(b *testing.B, h *harness, clients int, req func(c *http.Client, base string, i int) int) {
	srv := httptest.NewUnstartedServer(h.e)
	srv.Listener = WrapListener(srv.Listener) // as serve does
	srv.Start()
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	c := &http.Client{Transport: tr}
	// warm up: a few requests so the first compile of the form is not timed
	for i := 0; i < 5; i++ {
		req(c, srv.URL, -1-i)
	}
	lat := make([]time.Duration, b.N)
	var next int64 = -1
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := profileTimed(b)
	b.ResetTimer()
	start, cpu0, sw0 := time.Now(), storetest.ProcessCPU(), storetest.ProcessSwitches()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				next++
				i := next
				mu.Unlock()
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if code := req(c, srv.URL, int(i)); code >= 300 {
					b.Errorf("status %d", code)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	el, cpu, sw := time.Since(start), storetest.ProcessCPU()-cpu0, storetest.ProcessSwitches()-sw0
	b.StopTimer()
	stop()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
	b.ReportMetric(float64(sw)/float64(b.N), "ctxsw/op")
}

// profileTimed writes a CPU profile of the timed requests alone (not the
// seeding, which -cpuprofile includes) to $FORMWORK_BENCH_CPUPROFILE,
// suffixed with the benchmark's name; it returns the function that stops it.
func profileTimed(b *testing.B) func() {
	dir := os.Getenv("FORMWORK_BENCH_CPUPROFILE")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(dir + "." + strings.NewReplacer("/", "_", "=", "").Replace(b.Name()))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

func do(c *http.Client, method, url, token, body string) int {
	r, _ := http.NewRequest(method, url, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(r)
	if err != nil {
		return 599
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

const benchVisit = "/api/v1/apps/visit/forms/visit/records"

func BenchmarkHTTPCreateRecord(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			benchHTTP(b, n, func(h *harness) func(*http.Client, string, int) int {
				tok := h.tokens["staff"]
				return func(c *http.Client, base string, i int) int {
					return do(c, "POST", base+benchVisit, tok, fmt.Sprintf(`{"data":{"guest":"客人%d","phone":"13800138000","adults":2,"kids":1}}`, i))
				}
			})
		})
	}
}

func BenchmarkHTTPListRecords(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			benchHTTP(b, n, func(h *harness) func(*http.Client, string, int) int {
				tok := h.tokens["staff"]
				c := &http.Client{}
				srv := httptest.NewServer(h.e)
				defer srv.Close()
				for i := 0; i < 200; i++ {
					if code := do(c, "POST", srv.URL+benchVisit, tok, fmt.Sprintf(`{"data":{"guest":"客人%d","phone":"13800138000"}}`, i)); code != 201 {
						b.Fatalf("seed: %d", code)
					}
				}
				return func(c *http.Client, base string, i int) int {
					return do(c, "GET", base+benchVisit+"?limit=50&sort=-_created_at", tok, "")
				}
			})
		})
	}
}

func BenchmarkHTTPGetRecord(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			benchHTTP(b, n, func(h *harness) func(*http.Client, string, int) int {
				ids := make([]string, 200)
				for i := range ids {
					ids[i] = h.createCustomer("staff", fmt.Sprintf("客户%d", i)).ID
				}
				tok := h.tokens["staff"]
				return func(c *http.Client, base string, i int) int {
					return do(c, "GET", base+"/api/v1/apps/shop/forms/customer/records/"+ids[(i+len(ids))%len(ids)], tok, "")
				}
			})
		})
	}
}

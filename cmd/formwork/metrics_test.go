package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"formwork/engine"
	"formwork/engine/queue/redistest"
	"formwork/engine/store/sqlite"
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

// metricsRedisDB is the Redis database TestMetricsMove uses on a real
// Redis (wiped before and after, as the durability test's).
const metricsRedisDB = 10

// TestMetricsMove runs serve with a metrics address over SQLite and checks
// that each engine metric moves with the work that feeds it: a browser
// login and an API login show as active sessions; records submitted into a workflow
// count store calls, create-rule evaluations and the outbox relayed, and
// their notification jobs' run times by type; a list (a read, audited in a
// batch) counts an audit commit; an approval counts a workflow rule
// evaluation; the queue's depth is read from Redis (real with
// FORMWORK_TEST_REDIS_ADDR, else the embedded one).
func TestMetricsMove(t *testing.T) {
	env := cleanEnv()
	if redisAddr := os.Getenv("FORMWORK_TEST_REDIS_ADDR"); redisAddr != "" {
		env = append(env, fmt.Sprintf("%s=redis://%s/%d", envRedisAddr, redisAddr, metricsRedisDB))
		wipe := func() {
			if _, err := redistest.Command(redisAddr, metricsRedisDB, "FLUSHDB"); err != nil {
				t.Fatal(err)
			}
		}
		wipe()
		t.Cleanup(wipe)
		t.Logf("queue: real Redis %s db %d", redisAddr, metricsRedisDB)
	}
	const password = "a long and fine password"
	data := seedData(t, password, []string{"unit", "create", "--key", "store1", "--name", "一号店"}, []string{"app", "import", shopBundle(t)})
	addr, maddr := freeAddr(t), freeAddr(t)
	base := "http://" + addr
	startServe(t, data, addr, append(env, "FORMWORK_METRICS_ADDR="+maddr))

	admin := login(t, base, "admin@example.com", password)
	addShopStaff(t, admin, password)
	browserLogin(t, base, "head@example.com", password)

	before := scrape(t, maddr)
	if got := before.value(`formwork_sessions_active{kind="browser"}`); got != 1 {
		t.Errorf("browser sessions after one browser login = %v, want 1", got)
	}
	if got := before.value(`formwork_sessions_active{kind="api"}`); got != 1 {
		t.Errorf("API sessions after the administrator's API login = %v, want 1", got)
	}
	for _, name := range []string{`formwork_queue_depth{queue="default",state="pending"}`, `formwork_queue_latency_seconds{queue="default"}`, "formwork_outbox_lag_seconds", "formwork_outbox_pending"} {
		if _, ok := before[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	clerkAPI := login(t, base, "clerk@example.com", password)
	const n = 3
	for i := range n {
		if _, err := clerkAPI.call("POST", "/api/v1/apps/shop/forms/customer/records", map[string]any{"data": map[string]any{
			"name": fmt.Sprintf("客户%d", i), "phone": "13912345678", "level": "normal", "discount": 0.15}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := clerkAPI.call("GET", "/api/v1/apps/shop/forms/customer/records", nil, nil); err != nil {
		t.Fatal(err)
	}
	headAPI := login(t, base, "head@example.com", password)
	var inbox struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if _, err := headAPI.call("GET", "/api/v1/tasks", nil, &inbox); err != nil || len(inbox.Items) == 0 {
		t.Fatalf("head's inbox: %v, %d task(s)", err, len(inbox.Items))
	}
	if _, err := headAPI.call("POST", "/api/v1/tasks/"+inbox.Items[0].ID+"/approve", map[string]string{"comment": "ok"}, nil); err != nil {
		t.Fatal(err)
	}

	// the notification jobs run in the background: wait for the worker
	var after metricSet
	deadline := time.Now().Add(20 * time.Second)
	for {
		after = scrape(t, maddr)
		if after.sum("formwork_job_duration_seconds_count", `outcome="ok"`) > before.sum("formwork_job_duration_seconds_count", `outcome="ok"`) &&
			after.value("formwork_outbox_lag_seconds") == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no job run counted within 20 s, or the outbox did not drain")
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, c := range []struct {
		series string
		least  float64
	}{
		{`formwork_rule_eval_seconds_count{op="create"}`, n},
		{`formwork_rule_eval_seconds_count{op="workflow"}`, 1},
		{`formwork_store_op_seconds_count{op="apply",outcome="ok"}`, n},
		{`formwork_store_op_seconds_count{op="find_records",outcome="ok"}`, 1},
		{`formwork_store_op_seconds_count{op="find_doc",outcome="ok"}`, 1},
		{`formwork_audit_write_seconds_count{outcome="ok"}`, 1},
		{`formwork_audit_events_written_total`, 1},
		{`formwork_outbox_relayed_total`, 1},
	} {
		if d := after.value(c.series) - before.value(c.series); d < c.least {
			t.Errorf("%s moved by %v, want at least %v", c.series, d, c.least)
		}
	}
	if after.sum("formwork_rule_eval_seconds_sum", `op="create"`) <= 0 {
		t.Error("create rule evaluations took no time at all")
	}
	t.Logf("job runs: %v", after.matching("formwork_job_duration_seconds_count"))
	// README's metrics table lists what a server shows, no more, no less
	// (deploy/prometheus's alerts are checked against the table)
	shown := map[string]bool{}
	for series := range after {
		name, _, _ := strings.Cut(series, "{")
		if !strings.HasPrefix(name, "formwork_") {
			continue
		}
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if base := strings.TrimSuffix(name, suffix); base != name && after.has(base+"_bucket") {
				name = base
			}
		}
		shown[name] = true
	}
	listed := readmeMetrics(t)
	for name := range shown {
		if !slices.Contains(listed, name) {
			t.Errorf("serve shows %s, which README's metrics table does not list", name)
		}
	}
	for _, name := range listed {
		if !shown[name] {
			t.Errorf("README's metrics table lists %s, which serve does not show", name)
		}
	}
}

// has tells whether a series of the metric name (name or name{…}) is in m.
func (m metricSet) has(name string) bool {
	for k := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			return true
		}
	}
	return false
}

// browserLogin signs in through the login page, as a browser does: it
// reads the form's CSRF token and posts it back with the cookie.
func browserLogin(t *testing.T, base, email, password string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field on /login:\n%s", page)
	}
	resp, err = c.PostForm(base+"/login", url.Values{"_csrf": {string(m[1])}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Set-Cookie"), "fw_session=") {
		t.Fatalf("browser login: %d, Set-Cookie %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
}

// metricSet is one scrape: each series as /metrics prints it
// (`name{label="value",…}`, labels in name order) to its value.
type metricSet map[string]float64

func scrape(t *testing.T, maddr string) metricSet {
	t.Helper()
	resp, err := http.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	set := metricSet{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("/metrics line %q", line)
		}
		set[line[:i]] = v
	}
	return set
}

// value is a series' value, 0 when it is absent.
func (m metricSet) value(series string) float64 { return m[series] }

// sum adds the values of a metric's series whose labels contain label.
func (m metricSet) sum(name, label string) float64 {
	var s float64
	for k, v := range m {
		if strings.HasPrefix(k, name+"{") && strings.Contains(k, label) {
			s += v
		}
	}
	return s
}

// matching lists a metric's series with their values.
func (m metricSet) matching(name string) []string {
	var out []string
	for k, v := range m {
		if strings.HasPrefix(k, name) {
			out = append(out, fmt.Sprintf("%s %v", k, v))
		}
	}
	sort.Strings(out)
	return out
}

// TestMetricsScrapeCacheReadsOncePerTTL: scrapes within the cache's ttl
// reuse the last read; a failed read shows no values, and the next
// scrape after ttl reads again.
func TestMetricsScrapeCacheReadsOncePerTTL(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	m := newProcMetrics(newLogger(io.Discard))
	m.now = func() time.Time { return now }
	desc := prometheus.NewDesc("formwork_test_value", "test", nil, nil)
	reads, fail := 0, false
	m.reg.MustRegister(m.cached("test", 15*time.Second, []*prometheus.Desc{desc}, func(context.Context) ([]prometheus.Metric, error) {
		reads++
		if fail {
			return nil, errors.New("store down")
		}
		return []prometheus.Metric{prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(reads))}, nil
	}))
	// value scrapes once: the test metric's value, -1 when it shows none
	value := func() float64 {
		t.Helper()
		fams, err := m.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == "formwork_test_value" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return -1
	}
	for _, step := range []struct {
		advance time.Duration
		fail    bool
		want    float64
		reads   int
	}{
		{0, false, 1, 1},
		{14 * time.Second, false, 1, 1}, // within the ttl: the cached value
		{time.Second, true, -1, 2},      // a failed read shows nothing
		{time.Second, false, -1, 2},     // …until the ttl has passed again
		{15 * time.Second, false, 3, 3},
	} {
		now = now.Add(step.advance)
		fail = step.fail
		if got := value(); got != step.want {
			t.Errorf("after %v: value %v, want %v", step.advance, got, step.want)
		}
		if reads != step.reads {
			t.Errorf("after %v: %d reads, want %d", step.advance, reads, step.reads)
		}
	}
}

// BenchmarkStoreMetrics is what the store metrics cost a request's store
// call: FindDoc of one doc on SQLite, bare and through the Prometheus
// observer (two clock reads and one histogram observation).
func BenchmarkStoreMetrics(b *testing.B) {
	ctx := context.Background()
	bare, err := sqlite.Open(filepath.Join(b.TempDir(), dbFile), sqlite.Options{Now: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Close()
	if _, err := bare.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: "note", ID: "n1", Value: []byte(`{"a":1}`)}}}}); err != nil {
		b.Fatal(err)
	}
	m := newProcMetrics(newLogger(io.Discard))
	// the decorator alone, on a store answering from memory: the
	// difference between instant and instant-observed is its whole cost
	doc := &engine.Doc{Kind: "note", ID: "n1"}
	instant := instantStore{doc: doc}
	for _, c := range []struct {
		name string
		st   engine.Store
	}{{"instant", instant}, {"instant-observed", m.observeStore(instant)}, {"sqlite", bare}, {"sqlite-observed", m.observeStore(bare)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.st.FindDoc(ctx, "note", "n1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// instantStore answers FindDoc from memory, so that a benchmark of a
// decorator over it measures the decorator; its other methods are not
// called (the nil Store would panic).
type instantStore struct {
	engine.Store
	doc *engine.Doc
}

func (s instantStore) FindDoc(context.Context, string, string) (*engine.Doc, error) {
	return s.doc, nil
}

// TestMetricsWorker: `formwork worker --metrics-addr` (real Redis only:
// a worker needs FORMWORK_REDIS_ADDR) serves the queue's depth and its
// relay's store calls.
func TestMetricsWorker(t *testing.T) {
	redisAddr := os.Getenv("FORMWORK_TEST_REDIS_ADDR")
	if redisAddr == "" {
		t.Skip("FORMWORK_TEST_REDIS_ADDR not set: the worker needs a real Redis")
	}
	if _, err := redistest.Command(redisAddr, metricsRedisDB, "FLUSHDB"); err != nil {
		t.Fatal(err)
	}
	maddr := freeAddr(t)
	cmd := exec.Command(binary, "--data", t.TempDir(), "worker", "--metrics-addr", maddr)
	cmd.Env = append(cleanEnv(), fmt.Sprintf("%s=redis://%s/%d", envRedisAddr, redisAddr, metricsRedisDB))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// the relay reads the outbox every half second: wait for its first pass
	var got metricSet
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get("http://" + maddr + "/metrics"); err == nil {
			resp.Body.Close()
			if got = scrape(t, maddr); got.value(`formwork_store_op_seconds_count{op="find_outbox",outcome="ok"}`) >= 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker did not serve /metrics with a relay pass within 30 s: %v", got.matching("formwork_store"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, name := range []string{`formwork_queue_depth{queue="default",state="pending"}`, "formwork_outbox_lag_seconds", `formwork_sessions_active{kind="browser"}`} {
		if _, ok := got[name]; !ok {
			t.Errorf("worker's /metrics lacks %s", name)
		}
	}
}

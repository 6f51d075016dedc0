package exchange_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/store/sqlite"
	"formwork/exchange"
)

const benchBundle = `{
  "formwork": "1",
  "app": {"key": "bench", "name": {"zh": "压测", "en": "Bench"}, "version": "1.0.0"},
  "roles": [{"key": "clerk", "name": {"zh": "店员", "en": "Clerk"},
    "permissions": {"customer": {"operations": ["read", "export"], "scope": "all", "fields": {"*": "read", "phone": "masked"}}}}],
  "forms": [{
    "$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "customer", "type": "object",
    "x-title": {"zh": "客户", "en": "Customer"},
    "properties": {
      "name":  {"type": "string", "maxLength": 50, "x-widget": "text", "x-label": {"zh": "姓名", "en": "Name"}},
      "phone": {"type": "string", "maxLength": 20, "x-widget": "phone", "x-sensitive": "phone", "x-label": {"zh": "手机号", "en": "Phone"}},
      "level": {"type": "string", "enum": ["normal", "vip"], "x-widget": "select", "x-label": {"zh": "等级", "en": "Level"},
                "x-options": {"normal": {"zh": "普通", "en": "Normal"}, "vip": {"zh": "贵宾", "en": "VIP"}}},
      "spent": {"type": "number", "x-widget": "money", "x-label": {"zh": "消费", "en": "Spent"}},
      "note":  {"type": "string", "maxLength": 500, "x-widget": "textarea", "x-label": {"zh": "备注", "en": "Note"}}
    }
  }]
}`

// BenchmarkExport100k writes the .xlsx of 100,000 records (five columns,
// one masked) through the real store and the stream writer, and reports
// the time per export, records per second and how far the process's peak
// resident memory grew during it.
func BenchmarkExport100k(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	dir := b.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "bench.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	org := engine.NewOrg(st, nil)
	svc := engine.NewService(st, org, engine.ServiceOptions{})
	defer svc.Close()
	sys := engine.AuditActor{ID: engine.SystemActor}
	if _, err := org.CreateUnit(ctx, sys, engine.Unit{Key: "hq", Name: engine.T("总部", "HQ")}); err != nil {
		b.Fatal(err)
	}
	admin, err := org.CreateUser(ctx, sys, engine.NewUser{Email: "admin@example.com", Name: "admin", Unit: "hq", Admin: true, Password: "correct horse battery"})
	if err != nil {
		b.Fatal(err)
	}
	clerk, err := org.CreateUser(ctx, sys, engine.NewUser{Email: "clerk@example.com", Name: "店员甲", Unit: "hq", Roles: map[string][]string{"bench": {"clerk"}}, Password: "correct horse battery"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.ImportApp(ctx, &engine.Principal{User: admin}, []byte(benchBundle), engine.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := 0; i < n; i += 1000 {
		ch := &engine.Change{}
		for k := i; k < i+1000; k++ {
			r := &engine.Record{ID: engine.NewID(now), App: "bench", Form: "customer", FormVersion: 1, Unit: "hq", Owner: clerk.ID, Status: engine.StatusActive,
				Data: map[string]any{"name": "客户" + strconv.Itoa(k), "phone": fmt.Sprintf("139%08d", k), "level": []string{"normal", "vip"}[k%2],
					"spent": float64(k%5000) + 0.5, "note": strings.Repeat("备注", k%8)}, CreatedBy: clerk.ID, UpdatedBy: clerk.ID}
			ch.Records = append(ch.Records, engine.RecordWrite{Op: engine.WriteCreate, Record: r, Actor: clerk.ID, At: now})
		}
		if _, err := st.Apply(ctx, ch); err != nil {
			b.Fatal(err)
		}
	}
	p := &engine.Principal{User: clerk, IP: "127.0.0.1"}
	x := exchange.NewExporter(svc)
	b.ResetTimer()
	var peak float64
	for range b.N {
		j, err := svc.RequestExport(ctx, p, "bench", "customer", engine.ExportRequest{Format: engine.ExportXLSX}, nil)
		if err != nil {
			b.Fatal(err)
		}
		j, _, err = svc.StartExport(ctx, j.ID)
		if err != nil {
			b.Fatal(err)
		}
		base := rss("VmRSS")
		_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets the peak (Linux)
		rows, err := x.Write(ctx, j, io.Discard)
		if err != nil || rows != n {
			b.Fatalf("wrote %d rows: %v", rows, err)
		}
		peak = max(peak, float64(rss("VmHWM")-base)/(1<<20))
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if peak > 0 {
		b.ReportMetric(peak, "peak-RSS-growth-MB")
	}
}

// rss reads a memory figure of this process from /proc (0 elsewhere).
func rss(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"
)

// bigBundle builds a bundle with one 500-field form (Jiandaoyun's maximum)
// and one rule per field: a mix of visibility, required-if, readonly and
// formulas, each reading other fields.
func bigBundle(tb testing.TB, n int) ([]byte, map[string]any) {
	tb.Helper()
	var props []string
	data := map[string]any{}
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("f%03d", i)
		var p string
		switch i % 5 {
		case 0:
			p = `{"type":"number","x-widget":"number","minimum":0,"x-label":{"zh":"数","en":"Num"}}`
			data[k] = float64(i)
		case 1:
			p = fmt.Sprintf(`{"type":"string","x-widget":"text","maxLength":50,"x-visible":"f%03d > 10"}`, i-1)
			data[k] = "text"
		case 2:
			p = fmt.Sprintf(`{"type":"string","x-widget":"select","enum":["a","b","c"],"x-required":"f%03d != '' && f%03d < 1000"}`, i-1, i-2)
			data[k] = "b"
		case 3:
			p = fmt.Sprintf(`{"type":"number","x-widget":"formula","x-compute":"f%03d * 2 + 1"}`, i-3)
		case 4:
			p = fmt.Sprintf(`{"type":"boolean","x-widget":"checkbox","x-readonly":"f%03d == 'c'"}`, i-2)
			data[k] = true
		}
		props = append(props, fmt.Sprintf(`"%s":%s`, k, p))
	}
	b := fmt.Sprintf(`{"formwork":"1","app":{"key":"big","name":"Big","version":"1.0.0"},"forms":[{"x-key":"big","type":"object","properties":{%s}}]}`, strings.Join(props, ","))
	return []byte(b), data
}

func BenchmarkEvaluate500(b *testing.B) {
	raw, data := bigBundle(b, 500)
	bundle, err := LoadBundle(raw)
	if err != nil {
		b.Fatal(err)
	}
	cf := bundle.Compiled("big")
	in := EvalInput{Data: data, Now: testNow, User: UserEnv{ID: "u", Unit: "s", Roles: []string{"r"}}, NoFieldMap: true}
	if res := cf.Evaluate(in); !res.OK() {
		b.Fatalf("fixture invalid: %v", res.Errors[:1])
	}
	// the sum of raw expr VM runs of the same programs on a prepared env
	env := cf.buildEnv(data, in)
	var progs []*vm.Program
	for _, fr := range cf.rules {
		for _, p := range []*exprProgram{fr.visible, fr.required, fr.readonly, fr.comput} {
			if p != nil {
				progs = append(progs, p.prog)
			}
		}
	}
	if len(progs) != 400 {
		b.Logf("%d programs", len(progs))
	}
	fast := 0
	for _, fr := range cf.rules {
		for _, p := range []*exprProgram{fr.visible, fr.required, fr.readonly, fr.comput} {
			if p != nil && p.fast != nil {
				fast++
			}
		}
	}
	if fast != len(progs) {
		b.Logf("%d of %d programs have a fast form", fast, len(progs))
	}
	// Besides wall time, each run reports the process's CPU time per
	// operation (cpu-ns/op, GC included): on a shared machine wall time
	// also counts the time the benchmark waits for a core, which makes
	// ratios between runs taken seconds apart meaningless.
	b.Run("full", func(b *testing.B) { benchFull(b, cf, in) })
	// The services evaluate in place (EvalInput.InPlace): the submitted
	// map becomes the data to store, instead of a new 500-entry map whose
	// allocation (a large object, and the GC work it brings) costs more
	// than the rules. full-in-place refreshes the submitted values before
	// each run, as a new request would bring them; refresh-only is that
	// copy alone, included in full-in-place's figure.
	refresh := func(m map[string]any) {
		for k, v := range data {
			m[k] = v
		}
	}
	b.Run("full-in-place", func(b *testing.B) { benchInPlace(b, cf, in, refresh) })
	b.Run("refresh-only", func(b *testing.B) {
		m := CloneData(data)
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := 0; i < b.N; i++ {
			refresh(m)
		}
	})
	// An update evaluates the stored record merged with the patch: the
	// effective data of the create, formulas included; each run leaves
	// the map as the effective data again (TestEvaluateInPlaceAgrees).
	stored := cf.Evaluate(in).Data
	b.Run("update-in-place", func(b *testing.B) {
		up := in
		up.Data, up.Prev, up.InPlace = CloneData(stored), stored, true
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := 0; i < b.N; i++ {
			cf.Evaluate(up)
		}
	})
	b.Run("rules-only", func(b *testing.B) {
		// Evaluate without the JSON Schema pass: the interpreter's own overhead
		sch := cf.schema
		cf.schema = nil
		defer func() { cf.schema = sch }()
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := 0; i < b.N; i++ {
			cf.Evaluate(in)
		}
	})
	b.Run("full-vm", func(b *testing.B) {
		// the same evaluation with every rule run on expr's VM instead of
		// its fast form (rule_fast.go)
		cf.allVM = true
		defer func() { cf.allVM = false }()
		b.ReportAllocs()
		defer reportCPU(b)()
		for i := 0; i < b.N; i++ {
			cf.Evaluate(in)
		}
	})
	b.Run("raw-vm-sum", func(b *testing.B) {
		b.ReportAllocs()
		machine := &vm.VM{}
		defer reportCPU(b)()
		for i := 0; i < b.N; i++ {
			for _, p := range progs {
				if _, err := machine.Run(p, env); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// benchFull evaluates in as it is, once per iteration.
func benchFull(b *testing.B, cf *CompiledForm, in EvalInput) {
	b.ReportAllocs()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		cf.Evaluate(in)
	}
}

// benchInPlace evaluates in place, as the services do, refreshing the
// submitted values before each run as a new request would bring them.
func benchInPlace(b *testing.B, cf *CompiledForm, in EvalInput, refresh func(map[string]any)) {
	cr := in
	cr.Data, cr.InPlace = CloneData(in.Data), true
	b.ReportAllocs()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		refresh(cr.Data)
		cf.Evaluate(cr)
	}
}

// reportCPU starts measuring the process's CPU time; the function it
// returns reports it per operation as cpu-ns/op.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkLoadBundle500(b *testing.B) {
	raw, _ := bigBundle(b, 500)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := LoadBundle(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadShop(b *testing.B) {
	raw := readShopRaw(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := LoadBundle(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func readShopRaw(tb testing.TB) []byte {
	tb.Helper()
	m := readShop(tb)
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkEvaluate500Rows is BenchmarkEvaluate500's form with a 200-row
// order-lines subform: a line total (qty × price) and a column shown and
// required by the line's kind on every row, and the order total summing
// the line totals. The target is a full evaluation under 2 ms.
func BenchmarkEvaluate500Rows(b *testing.B) {
	raw, data := bigBundle(b, 498) // with the subform and its total: 500 fields
	lines := `"lines":{"type":"array","x-widget":"subform","maxItems":500,"items":{"type":"object","properties":{` +
		`"kind":{"type":"string","enum":["part","device"],"x-widget":"select"},` +
		`"qty":{"type":"number","minimum":0,"x-widget":"number"},"price":{"type":"number","minimum":0,"x-widget":"money"},` +
		`"total":{"type":"number","x-widget":"formula","x-compute":"qty * price"},` +
		`"serial":{"type":"string","x-widget":"text","x-visible":"kind == 'device'","x-required":"kind == 'device'"}}}},` +
		`"lines_total":{"type":"number","x-widget":"formula","x-compute":"sum(map(lines, #.total))"},`
	raw = []byte(strings.Replace(string(raw), `"properties":{`, `"properties":{`+lines, 1))
	rows := make([]any, 200)
	for i := range rows {
		r := map[string]any{"kind": "part", "qty": float64(i%7 + 1), "price": 9.5}
		if i%4 == 0 {
			r["kind"], r["serial"] = "device", fmt.Sprintf("SN%04d", i)
		}
		rows[i] = r
	}
	data["lines"] = rows
	bundle, err := LoadBundle(raw)
	if err != nil {
		b.Fatal(err)
	}
	cf := bundle.Compiled("big")
	in := EvalInput{Data: data, Now: testNow, User: UserEnv{ID: "u", Unit: "s", Roles: []string{"r"}}, NoFieldMap: true}
	res := cf.Evaluate(in)
	if !res.OK() {
		b.Fatalf("fixture invalid: %v", res.Errors[:1])
	}
	if got := res.Data["lines_total"]; got == nil {
		b.Fatal("no lines total")
	}
	b.Run("full", func(b *testing.B) { benchFull(b, cf, in) })
	b.Run("full-in-place", func(b *testing.B) {
		benchInPlace(b, cf, in, func(m map[string]any) {
			for k, v := range data {
				m[k] = v
			}
		})
	})
}

package designer_test

import (
	"fmt"
	"strings"
	"testing"

	"formwork/engine"
)

// FuzzPatch sends any bytes as a patch to a draft: nothing panics, and
// every refusal is an engine error with a 4xx code.
func FuzzPatch(f *testing.F) {
	for _, seed := range []string{
		`[{"op":"replace","path":"/forms/0/properties/name/x-label/en","value":"Full name"}]`,
		`[{"op":"add","path":"/forms/0/properties/phone","value":{"type":"string","x-widget":"phone"}}]`,
		`[{"op":"remove","path":"/workflows/0"}]`,
		`[{"op":"move","from":"/forms/0/properties/name","path":"/forms/0/properties/nom"}]`,
		`[{"op":"copy","from":"/forms/0","path":"/forms/-"}]`,
		`[{"op":"test","path":"/app/key","value":"mini"}]`,
		`[{"op":"replace","path":"","value":{}}]`,
		`[{"op":"add","path":"/forms/0/properties/name/x-label/~2","value":1}]`,
		`[{"op":"remove","path":"/forms/-1"}]`,
		`{}`, `[]`, `[null]`, `[1]`, ``,
	} {
		f.Add([]byte(seed))
	}
	fx := newFixture(f)
	des := fx.users["des"]
	start, err := fx.d.Save(ctx, des, "mini", []byte(miniBundle), 0)
	if err != nil {
		f.Fatal(err)
	}
	version := start.Version
	f.Fuzz(func(t *testing.T, patch []byte) {
		d, err := fx.d.Patch(ctx, des, "mini", patch, version)
		if err == nil {
			version = d.Version
			back, err := fx.d.Save(ctx, des, "mini", []byte(miniBundle), version)
			if err != nil {
				t.Fatalf("save back: %v", err)
			}
			version = back.Version
			return
		}
		switch code := engine.ErrorCode(err); code {
		case engine.EBADREQUEST, engine.EINVALID, engine.ETOOLARGE, engine.ECONFLICT:
		default:
			t.Fatalf("patch %q: %s: %v", patch, code, err)
		}
	})
}

// bigBundle is one form of n fields with one rule each, as in the engine's
// BenchmarkEvaluate500 (Jiandaoyun's maximum form is 500 fields).
func bigBundle(n int) string {
	var props []string
	for i := 0; i < n; i++ {
		var p string
		switch i % 5 {
		case 0:
			p = `{"type":"number","x-widget":"number","minimum":0,"x-label":{"zh":"数","en":"Num"}}`
		case 1:
			p = fmt.Sprintf(`{"type":"string","x-widget":"text","maxLength":50,"x-visible":"f%03d > 10"}`, i-1)
		case 2:
			p = fmt.Sprintf(`{"type":"string","x-widget":"select","enum":["a","b","c"],"x-required":"f%03d != '' && f%03d < 1000"}`, i-1, i-2)
		case 3:
			p = fmt.Sprintf(`{"type":"number","x-widget":"formula","x-compute":"f%03d * 2 + 1"}`, i-3)
		case 4:
			p = fmt.Sprintf(`{"type":"boolean","x-widget":"checkbox","x-readonly":"f%03d == 'c'"}`, i-2)
		}
		props = append(props, fmt.Sprintf(`"f%03d":%s`, i, p))
	}
	return fmt.Sprintf(`{"formwork":"1","app":{"key":"big","name":"Big","version":"1.0.0"},"forms":[{"x-key":"big","type":"object","properties":{%s}}]}`, strings.Join(props, ","))
}

// BenchmarkPatch500 is one label change to a 500-field form: patched,
// re-validated in full (engine.LoadBundle) and stored with its audit event.
func BenchmarkPatch500(b *testing.B) {
	f := newFixture(b)
	admin := f.users["admin"]
	d, err := f.d.Save(ctx, admin, "big", []byte(bigBundle(500)), 0)
	if err != nil {
		b.Fatal(err)
	}
	if len(d.Problems) > 0 {
		b.Fatalf("fixture invalid: %v", d.Problems[:1])
	}
	version := d.Version
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		patch := fmt.Sprintf(`[{"op":"replace","path":"/forms/0/properties/f250/x-label","value":{"zh":"数%d","en":"Num %d"}}]`, i, i)
		d, err := f.d.Patch(ctx, admin, "big", []byte(patch), version)
		if err != nil {
			b.Fatal(err)
		}
		version = d.Version
	}
}

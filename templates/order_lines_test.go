package templates

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// TestOrderLines runs the templates' order lines through the engine: each
// line's total is computed on its row, the order's totals add them up,
// and a home charger asks for its installation address on its own row.
func TestOrderLines(t *testing.T) {
	load := func(name, form string) *engine.CompiledForm {
		data, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := engine.LoadBundle(data)
		if err != nil {
			t.Fatal(err)
		}
		return b.Compiled(form)
	}
	now := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	order := load("dealership", "sales_order")
	rec := map[string]any{"order_date": "2026-06-01", "model": "fw_s3", "list_price": 100000.0, "payment_method": "full", "status": "draft", "insurance": false,
		"accessories": []any{
			map[string]any{"name": "floor_mats", "quantity": 2.0, "unit_price": 500.0},
			map[string]any{"name": "charger", "quantity": 1.0, "unit_price": 3999.5},
		}}
	res := order.Evaluate(engine.EvalInput{Data: rec, Now: now})
	var errs []string
	for _, e := range res.Errors {
		errs = append(errs, e.Field+" "+e.Message.Zh)
	}
	if diff := cmp.Diff([]string{"/accessories/1/install_address 第 2 行：请填写安装地址"}, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	rows := res.Data["accessories"].([]any)
	if got := []any{rows[0].(map[string]any)["amount"], rows[1].(map[string]any)["amount"], res.Data["accessories_total"]}; !cmp.Equal(got, []any{1000.0, 3999.5, 4999.5}) {
		t.Errorf("line totals and their sum = %v", got)
	}

	contract := load("crm", "contract")
	rec = map[string]any{"doc_type": "quote", "title": "T", "valid_until": "2026-07-01", "payment_terms": "prepaid", "status": "draft", "discount_amount": 100.0,
		"lines": []any{
			map[string]any{"product": "A", "quantity": 3.0, "unit_price": 19.99},
			map[string]any{"product": "B", "quantity": 1.0, "unit_price": 1000.0},
		}}
	res = contract.Evaluate(engine.EvalInput{Data: rec, Now: now})
	if !res.OK() {
		t.Fatalf("contract: %v", res.Errors)
	}
	lines := res.Data["lines"].([]any)
	if got := []any{lines[0].(map[string]any)["amount"], res.Data["list_amount"], res.Data["total_amount"]}; !cmp.Equal(got, []any{59.97, 1059.97, 959.97}) {
		t.Errorf("line total, lines total and contract total = %v", got)
	}
}

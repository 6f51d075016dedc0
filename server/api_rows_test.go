package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// withOrders imports the orders app (testdata/orders.json: order lines
// with a line total, a serial number shown and required for devices, and
// the order total summing the lines) and makes staff its clerk.
func withOrders(tb testing.TB, h *harness) {
	tb.Helper()
	ctx := context.Background()
	b, err := os.ReadFile(filepath.Join("testdata", "orders.json"))
	if err != nil {
		tb.Fatal(err)
	}
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	if _, err := h.svc.ImportApp(ctx, admin, b, engine.ImportOptions{}); err != nil {
		tb.Fatalf("import orders: %v", err)
	}
	roles := map[string][]string{"orders": {"clerk"}}
	for app, rs := range h.users["staff"].Roles {
		roles[app] = rs
	}
	u, err := h.org.SetRoles(ctx, engine.AuditActor{ID: engine.SystemActor}, h.users["staff"].ID, roles)
	if err != nil {
		tb.Fatal(err)
	}
	h.users["staff"] = u
}

const ordersPath = "/api/v1/apps/orders/forms/order/records"

// orderCount is how many orders staff sees.
func orderCount(tb testing.TB, h *harness) int {
	tb.Helper()
	rec := h.do("GET", ordersPath, "staff", "", nil)
	if rec.Code != http.StatusOK {
		tb.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	var out struct{ Items []json.RawMessage }
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		tb.Fatal(err)
	}
	return len(out.Items)
}

func manyRows(n int, row string) string {
	return "[" + strings.TrimSuffix(strings.Repeat(row+",", n), ",") + "]"
}

func TestAPIOrderLines(t *testing.T) {
	zh := map[string]string{"Accept-Language": "zh-CN"}
	tests := []struct {
		name    string
		body    string
		status  int
		want    map[string]any // data keys checked
		errs    []string       // "field code message" in Chinese
		forbids []string
	}{
		{
			name: "three lines: each line's total and the order total are the server's",
			body: `{"data":{"customer":"王先生","lines":[
				{"kind":"part","product":"滤芯","qty":2,"price":35.5,"amount":1},
				{"kind":"device","product":"净水器","qty":1,"price":1999,"serial":"SN-001"},
				{"kind":"part","product":"龙头","qty":3,"price":0.1}]}}`,
			status: http.StatusCreated,
			want: map[string]any{"total": 2070.3, "lines": []any{
				map[string]any{"kind": "part", "product": "滤芯", "qty": 2.0, "price": 35.5, "amount": 71.0},
				map[string]any{"kind": "device", "product": "净水器", "qty": 1.0, "price": 1999.0, "serial": "SN-001", "amount": 1999.0},
				map[string]any{"kind": "part", "product": "龙头", "qty": 3.0, "price": 0.1, "amount": 0.3}}},
		},
		{
			name:   "a part's serial number is hidden on its row and not stored",
			body:   `{"data":{"customer":"李女士","lines":[{"kind":"part","product":"滤芯","qty":1,"price":10,"serial":"X"}]}}`,
			status: http.StatusCreated,
			want:   map[string]any{"total": 10.0, "lines": []any{map[string]any{"kind": "part", "product": "滤芯", "qty": 1.0, "price": 10.0, "amount": 10.0}}},
		},
		{
			name:   "a device without its serial number: the error names the row, nothing is written",
			body:   `{"data":{"customer":"赵先生","lines":[{"kind":"part","product":"滤芯","qty":1,"price":10},{"kind":"device","product":"净水器","qty":1,"price":1999}]}}`,
			status: http.StatusUnprocessableEntity,
			errs:   []string{"/lines/1/serial required 第 2 行：请填写序列号"},
		},
		{
			name:    "10,000 lines: maxItems, and no row is evaluated or written",
			body:    `{"data":{"customer":"钱先生","lines":` + manyRows(10000, `{"kind":"device","product":"p","qty":1,"price":1}`) + `}}`,
			status:  http.StatusUnprocessableEntity,
			errs:    []string{"/lines maxItems 最多 100 行（现在 10000 行）"},
			forbids: []string{"序列号"},
		},
		{
			name:   "10,000 rows of a subform without maxItems: capped all the same",
			body:   `{"data":{"customer":"孙先生","lines":[{"product":"p","qty":1,"price":1}],"notes":` + manyRows(10000, `{"text":"x"}`) + `}}`,
			status: http.StatusUnprocessableEntity,
			errs:   []string{"/notes maxItems 最多 1000 行（现在 10000 行）"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			withOrders(t, h)
			rec := h.do("POST", ordersPath, "staff", tt.body, zh)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %.500s", rec.Code, tt.status, rec.Body)
			}
			for _, f := range tt.forbids {
				if strings.Contains(rec.Body.String(), f) {
					t.Errorf("the answer holds %q: %.500s", f, rec.Body)
				}
			}
			if tt.status != http.StatusCreated {
				var p struct {
					Errors []ProblemField `json:"errors"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, e := range p.Errors {
					got = append(got, e.Field+" "+e.Code+" "+e.Message)
				}
				if diff := cmp.Diff(tt.errs, got); diff != "" {
					t.Errorf("errors (-want +got):\n%s", diff)
				}
				if n := orderCount(t, h); n != 0 {
					t.Errorf("%d orders written by a refused request", n)
				}
				return
			}
			var created engine.RecordView
			if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
				t.Fatal(err)
			}
			// what the store holds, read back
			got := h.do("GET", ordersPath+"/"+created.ID, "staff", "", nil)
			var stored engine.RecordView
			if err := json.Unmarshal(got.Body.Bytes(), &stored); err != nil {
				t.Fatal(err)
			}
			for k, w := range tt.want {
				if diff := cmp.Diff(w, stored.Data[k]); diff != "" {
					t.Errorf("stored %s (-want +got):\n%s", k, diff)
				}
			}
		})
	}
}

// TestAPIOrderLinesPatch changes a line's quantity and removes a line: the
// server computes the lines and the total again.
func TestAPIOrderLinesPatch(t *testing.T) {
	h := newHarness(t, testConfig())
	withOrders(t, h)
	rec := h.do("POST", ordersPath, "staff", `{"data":{"customer":"王先生","lines":[{"product":"a","qty":1,"price":5},{"product":"b","qty":2,"price":7}]}}`, nil)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var r engine.RecordView
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Data["total"] != 19.0 {
		t.Fatalf("total %v, want 19", r.Data["total"])
	}
	rec = h.do("PATCH", ordersPath+"/"+r.ID, "staff", `{"data":{"lines":[{"product":"b","qty":3,"price":7,"amount":0}]}}`,
		map[string]string{"If-Match": fmt.Sprintf("%q", fmt.Sprint(r.Version))})
	if rec.Code != http.StatusOK {
		t.Fatalf("patch: %d %s", rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"customer": "王先生", "total": 21.0, "lines": []any{map[string]any{"product": "b", "qty": 3.0, "price": 7.0, "amount": 21.0}}}
	if diff := cmp.Diff(want, r.Data); diff != "" {
		t.Errorf("after the patch (-want +got):\n%s", diff)
	}
}

// TestAPIOrderLinesPreview: the live rules answer with each row's column
// states and errors that point at their cell.
func TestAPIOrderLinesPreview(t *testing.T) {
	h := newHarness(t, testConfig())
	withOrders(t, h)
	rec := h.do("POST", "/api/v1/apps/orders/forms/order/preview", "staff",
		`{"data":{"lines":[{"kind":"part","qty":2,"price":3},{"kind":"device","product":"x","qty":1,"price":1}]}}`, map[string]string{"Accept-Language": "en"})
	if rec.Code != http.StatusOK {
		t.Fatalf("preview: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		Data   map[string]any
		Rows   map[string][]map[string]engine.FieldState
		Errors []struct{ Field, Code, Message, Pointer string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Data["total"] != 7.0 {
		t.Errorf("total %v, want 7", out.Data["total"])
	}
	rows := out.Rows["lines"]
	if len(rows) != 2 || rows[0]["serial"].Visible || !rows[1]["serial"].Visible || !rows[1]["serial"].Required || !rows[0]["amount"].Computed {
		t.Errorf("row states %+v", rows)
	}
	var got []string
	for _, e := range out.Errors {
		got = append(got, e.Pointer+" "+e.Field+" "+e.Message)
	}
	want := []string{"/customer customer Customer is required", "/lines/0/product lines Row 1, Product: Required", "/lines/1/serial lines Row 2: Serial no. is required"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

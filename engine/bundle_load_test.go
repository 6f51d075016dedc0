package engine

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func readShop(tb testing.TB) map[string]any {
	tb.Helper()
	b, err := os.ReadFile("testdata/shop.json")
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func marshal(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestLoadBundleShop(t *testing.T) {
	raw, err := os.ReadFile("testdata/shop.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadBundle(raw)
	if err != nil {
		t.Fatalf("shop.json must load: %v", err)
	}
	if b.App.Key != "shop" || len(b.Forms) != 2 || len(b.Roles) != 4 || len(b.Workflows) != 1 {
		t.Fatalf("unexpected bundle: %+v", b.App)
	}
	if b.Compiled("customer") == nil {
		t.Fatal("customer not compiled")
	}
	c := b.Form("customer")
	var keys []string
	for _, f := range c.Fields {
		keys = append(keys, f.Key)
	}
	if got := strings.Join(keys, ","); got != "name,phone,level,vip_since,budget,discount,final_price,contacts,rep,company" {
		t.Fatalf("fields out of document order: %s", got)
	}
}

// path helpers for building broken variants
func obj(m any, path ...any) map[string]any {
	cur := m
	for _, p := range path {
		switch k := p.(type) {
		case string:
			cur = cur.(map[string]any)[k]
		case int:
			cur = cur.([]any)[k]
		}
	}
	return cur.(map[string]any)
}

func TestLoadBundleBroken(t *testing.T) {
	cust := func(m map[string]any) map[string]any { return obj(m, "forms", 1) }
	field := func(m map[string]any, k string) map[string]any { return obj(m, "forms", 1, "properties", k) }
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		want   []string // pointers that must be reported (with code after a space)
	}{
		{"unknown key in a field", func(m map[string]any) { field(m, "budget")["x-visble"] = "true" },
			[]string{"/forms/1/properties/budget/x-visble unknown_key"}},
		{"unknown top-level key", func(m map[string]any) { m["extra"] = 1 }, []string{"/extra unknown_key"}},
		{"missing app key", func(m map[string]any) { delete(obj(m, "app"), "key") }, []string{"/app/key required"}},
		{"bad key pattern", func(m map[string]any) { cust(m)["x-key"] = "Customer" }, []string{"/forms/1/x-key pattern"}},
		{"type error in formula", func(m map[string]any) { field(m, "final_price")["x-compute"] = "budget > 'abc'" },
			[]string{"/forms/1/properties/final_price/x-compute expr"}},
		{"visible must be boolean", func(m map[string]any) { field(m, "vip_since")["x-visible"] = "level" },
			[]string{"/forms/1/properties/vip_since/x-visible expr"}},
		{"unknown field in rule", func(m map[string]any) { field(m, "vip_since")["x-required"] = "levle == 'gold'" },
			[]string{"/forms/1/properties/vip_since/x-required expr"}},
		{"repeat is refused at load", func(m map[string]any) { field(m, "vip_since")["x-visible"] = "len(repeat('x', 1000000000)) > 0" },
			[]string{"/forms/1/properties/vip_since/x-visible expr"}},
		{"method calls are refused", func(m map[string]any) { field(m, "vip_since")["x-visible"] = "now.Year() > 2000" },
			[]string{"/forms/1/properties/vip_since/x-visible expr"}},
		{"too deep", func(m map[string]any) {
			field(m, "vip_since")["x-visible"] = strings.Repeat("(", 40) + "true" + strings.Repeat(")", 40)
		}, []string{"/forms/1/properties/vip_since/x-visible expr"}},
		{"formula cycle", func(m map[string]any) {
			field(m, "budget")["x-compute"] = "final_price + 1"
		}, []string{"/forms/1/properties/budget/x-compute cycle"}},
		{"check not boolean", func(m map[string]any) { obj(m, "forms", 1, "x-checks", 0)["expr"] = "discount" },
			[]string{"/forms/1/x-checks/0/expr expr"}},
		{"layout field missing", func(m map[string]any) {
			l := obj(m, "forms", 1, "x-layout", 0)
			l["fields"] = append(l["fields"].([]any), "nope")
		}, []string{"/forms/1/x-layout/0/fields/4 reference"}},
		{"required field missing", func(m map[string]any) { cust(m)["required"] = []any{"name", "ghost"} },
			[]string{"/forms/1/required/1 reference"}},
		{"role field missing", func(m map[string]any) { obj(m, "roles", 2, "permissions", "customer", "fields")["ghost"] = "read" },
			[]string{"/roles/2/permissions/customer/fields/ghost reference"}},
		{"role form missing", func(m map[string]any) {
			obj(m, "roles", 2, "permissions")["ghost"] = map[string]any{"operations": []any{"read"}}
		},
			[]string{"/roles/2/permissions/ghost reference"}},
		{"scope filter refused", func(m map[string]any) {
			obj(m, "roles", 0, "permissions", "customer")["scope"] = map[string]any{"filter": map[string]any{"name": map[string]any{"$where": "1"}}}
		}, []string{"/roles/0/permissions/customer/scope/filter/name/$where"}},
		{"relation to missing form", func(m map[string]any) { obj(m, "forms", 1, "properties", "company", "x-relation")["form"] = "ghost" },
			[]string{"/forms/1/properties/company/x-relation/form reference"}},
		{"widget does not fit type", func(m map[string]any) { field(m, "rep")["x-widget"] = "number" },
			[]string{"/forms/1/properties/rep/x-widget widget"}},
		{"option not in enum", func(m map[string]any) { field(m, "level")["x-options"].(map[string]any)["silver"] = "Silver" },
			[]string{"/forms/1/properties/level/x-options/silver reference"}},
		{"duplicate form key", func(m map[string]any) { obj(m, "forms", 0)["x-key"] = "customer" },
			[]string{"/forms/1/x-key duplicate"}},
		{"duration does not parse", func(m map[string]any) { obj(m, "workflows", 0, "nodes", 0, "timeout")["remind"] = "4 hours" },
			[]string{"/workflows/0/nodes/0/timeout/remind pattern"}},
		{"assignee role missing", func(m map[string]any) {
			obj(m, "workflows", 0, "nodes", 1, "branches", 0, "nodes", 0)["assignees"] = map[string]any{"roles": []any{"nobody"}}
		}, []string{"/workflows/0/nodes/1/branches/0/nodes/0/assignees/roles/0 reference"}},
		{"workflow form missing", func(m map[string]any) { obj(m, "workflows", 0)["form"] = "ghost" }, []string{"/workflows/0/form reference"}},
		{"trigger type error", func(m map[string]any) { obj(m, "workflows", 0, "trigger")["when"] = "discount > 'x'" },
			[]string{"/workflows/0/trigger/when expr"}},
		{"action set type error", func(m map[string]any) { obj(m, "workflows", 0, "nodes", 3, "set")["level"] = "discount * 2" },
			[]string{"/workflows/0/nodes/3/set/level expr"}},
		{"duplicate node key", func(m map[string]any) { obj(m, "workflows", 0, "nodes", 2)["key"] = "manager" },
			[]string{"/workflows/0/nodes/2/key duplicate"}},
		{"cc field not a member", func(m map[string]any) { obj(m, "workflows", 0, "nodes", 2)["to"] = map[string]any{"field": "name"} },
			[]string{"/workflows/0/nodes/2/to/field widget"}},
		{"node field unused by type", func(m map[string]any) { obj(m, "workflows", 0, "nodes", 2)["mode"] = "all" },
			[]string{"/workflows/0/nodes/2/mode unused"}},
		{"sample data breaks rules", func(m map[string]any) {
			obj(m, "sample_data")["customer"] = []any{map[string]any{"name": "x", "phone": "123", "bogus": 1}}
		}, []string{"/sample_data/customer/0/bogus unknown_field"}},
		{"chart groups by a missing field", func(m map[string]any) { obj(m, "dashboards", 0, "charts", 1)["group"] = "ghost" },
			[]string{"/dashboards/0/charts/1/group reference"}},
		{"chart measures a text field", func(m map[string]any) {
			obj(m, "dashboards", 0, "charts", 2)["measure"] = map[string]any{"op": "sum", "field": "level"}
		}, []string{"/dashboards/0/charts/2/measure/field type"}},
		{"chart filter with a forbidden operator", func(m map[string]any) {
			obj(m, "dashboards", 0, "charts", 0)["filter"] = map[string]any{"level": map[string]any{"$where": "1"}}
		}, []string{"/dashboards/0/charts/0/filter/level/$where"}},
		{"chart groups by a sensitive field", func(m map[string]any) { obj(m, "dashboards", 0, "charts", 1)["group"] = "phone" },
			[]string{"/dashboards/0/charts/1/group sensitive"}},
		{"chart groups a date without a period", func(m map[string]any) { obj(m, "dashboards", 0, "charts", 3)["group"] = "_created_at" },
			[]string{"/dashboards/0/charts/3/group/by required"}},
		{"pivot without columns", func(m map[string]any) { delete(obj(m, "dashboards", 0, "charts", 5), "columns") },
			[]string{"/dashboards/0/charts/5/columns required"}},
		{"chart over a missing form", func(m map[string]any) { obj(m, "dashboards", 0, "charts", 0)["form"] = "ghost" },
			[]string{"/dashboards/0/charts/0/form reference"}},
		{"dashboard role missing", func(m map[string]any) { obj(m, "dashboards", 1)["roles"] = []any{"ghost"} },
			[]string{"/dashboards/1/roles/0 reference"}},
		{"unknown chart type", func(m map[string]any) { obj(m, "dashboards", 0, "charts", 0)["type"] = "radar" },
			[]string{"/dashboards/0/charts/0/type"}},
		{"many errors at once", func(m map[string]any) {
			field(m, "budget")["x-visble"] = "true"
			field(m, "final_price")["x-compute"] = "budget > 'abc'"
			obj(m, "workflows", 0)["form"] = "ghost"
		}, []string{"/forms/1/properties/budget/x-visble unknown_key", "/forms/1/properties/final_price/x-compute expr", "/workflows/0/form reference"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := readShop(t)
			tt.mutate(m)
			_, err := LoadBundle(marshal(t, m))
			if err == nil {
				t.Fatal("broken bundle loaded")
			}
			if ErrorCode(err) != EINVALID {
				t.Fatalf("code = %s, want %s", ErrorCode(err), EINVALID)
			}
			var got []string
			for _, f := range ErrorFields(err) {
				got = append(got, f.Field+" "+f.Code)
				if f.Message.Zh == "" || f.Message.En == "" {
					t.Errorf("%s: message missing a language: %+v", f.Field, f.Message)
				}
				if strings.Contains(f.Message.En, "%!") || strings.Contains(f.Message.Zh, "%!") {
					t.Errorf("%s: bad format: %q / %q", f.Field, f.Message.Zh, f.Message.En)
				}
			}
			for _, w := range tt.want {
				found := false
				for _, g := range got {
					if strings.HasPrefix(g, w) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing error %q; got:\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
}

func TestLoadBundleNotJSON(t *testing.T) {
	for _, in := range []string{"", "{", "[]", "null", `{"formwork": "1"`, "\"x\""} {
		_, err := LoadBundle([]byte(in))
		if ErrorCode(err) != EINVALID {
			t.Errorf("%q: code %s, want invalid", in, ErrorCode(err))
		}
	}
}

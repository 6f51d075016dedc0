package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"formwork/engine"
)

// staffBundle is the peer benchmark's app (../shared/peers/loadgen): a
// customers form and a staff role that sees one store's records (a filter
// scope) without the phone.
const staffBundle = `{"formwork":"1","app":{"key":"bench","name":{"zh":"压测","en":"Bench"},"version":"1.0.0"},
"roles":[{"key":"staff","name":{"zh":"店员","en":"Staff"},"permissions":{"customers":{"operations":["create","read"],
  "scope":{"filter":{"store":{"$eq":"S1"}}},"fields":{"*":"edit","phone":"hidden"}}}}],
"forms":[{"$schema":"https://json-schema.org/draft/2020-12/schema","x-key":"customers","x-title":{"zh":"客户","en":"Customers"},"type":"object",
 "properties":{
  "name":{"type":"string","maxLength":200,"x-widget":"text","x-label":{"zh":"姓名","en":"Name"}},
  "phone":{"type":"string","maxLength":40,"x-widget":"text","x-label":{"zh":"电话","en":"Phone"}},
  "store":{"type":"string","maxLength":10,"x-widget":"text","x-index":true,"x-label":{"zh":"门店","en":"Store"}},
  "level":{"type":"string","enum":["gold","silver","bronze"],"x-widget":"select","x-index":true,"x-label":{"zh":"等级","en":"Level"}},
  "amount":{"type":"number","x-widget":"money","x-index":true,"x-label":{"zh":"金额","en":"Amount"}}},
 "required":["name","store"]}],
"workflows":[]}`

const staffRecords = "/api/v1/apps/bench/forms/customers/records"

// staffSeed imports the peer's app, 600 customers over three stores and
// levels, and a staff user with a login token; it returns the token and
// the ids of the customers the staff role sees.
func staffSeed(b *testing.B, h *harness) (string, []string) {
	ctx := context.Background()
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	if _, err := h.svc.ImportApp(ctx, admin, []byte(staffBundle), engine.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	var ids []string
	for i := range 600 {
		store, level := fmt.Sprintf("S%d", 1+i%3), []string{"gold", "silver", "bronze"}[i/3%3]
		r, err := h.svc.CreateRecord(ctx, admin, "bench", "customers", map[string]any{
			"name": fmt.Sprintf("客户%d", i), "phone": "13800138000", "store": store, "level": level, "amount": float64(i%997) * 1.5})
		if err != nil {
			b.Fatal(err)
		}
		if store == "S1" {
			ids = append(ids, r.ID)
		}
	}
	h.addUser("benchstaff", "hq", "bench", "staff")
	return h.tokens["benchstaff"], ids
}

// BenchmarkHTTPStaffList is the peer benchmark's staff list: gold
// customers of the role's store, by amount descending, 50 a page.
func BenchmarkHTTPStaffList(b *testing.B) {
	q := staffRecords + "?filter=" + url.QueryEscape(`{"level":{"$eq":"gold"}}`) + "&sort=-amount&limit=50"
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			benchHTTP(b, n, func(h *harness) func(*http.Client, string, int) int {
				tok, _ := staffSeed(b, h)
				return func(c *http.Client, base string, i int) int { return do(c, "GET", base+q, tok, "") }
			})
		})
	}
}

// BenchmarkHTTPStaffGet is the peer benchmark's staff read by id.
func BenchmarkHTTPStaffGet(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			benchHTTP(b, n, func(h *harness) func(*http.Client, string, int) int {
				tok, ids := staffSeed(b, h)
				return func(c *http.Client, base string, i int) int {
					return do(c, "GET", base+staffRecords+"/"+ids[(i+len(ids))%len(ids)], tok, "")
				}
			})
		})
	}
}

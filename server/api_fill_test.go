package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"formwork/engine"
)

// fillBundle is an app whose orders pick a customer and copy the phone,
// the address and the level from it. Clerks see customers' phones and
// addresses masked; bosses see them in full; a trainee reads no customer.
const fillBundle = `{"formwork":"1","app":{"key":"sales","name":{"zh":"销售","en":"Sales"},"version":"1.0.0"},
  "roles":[
    {"key":"clerk","name":{"zh":"店员","en":"Clerk"},"permissions":{
      "customer":{"operations":["read"],"scope":"all","fields":{"*":"read","phone":"masked","address":"masked"}},
      "order":{"operations":["create","read","update"],"scope":"own","fields":{"*":"edit"}}}},
    {"key":"boss","name":{"zh":"店长","en":"Boss"},"permissions":{
      "customer":{"operations":["create","read","update"],"scope":"all","fields":{"*":"edit"}},
      "order":{"operations":["create","read","update"],"scope":"all","fields":{"*":"edit"}}}},
    {"key":"trainee","name":{"zh":"实习生","en":"Trainee"},"permissions":{
      "order":{"operations":["create","read"],"scope":"own","fields":{"*":"edit"}}}}],
  "forms":[
    {"x-key":"customer","x-title":{"zh":"客户","en":"Customer"},"type":"object","properties":{
      "name":{"type":"string","x-widget":"text","x-label":{"zh":"姓名","en":"Name"}},
      "phone":{"type":"string","pattern":"^1[3-9][0-9]{9}$","x-widget":"phone","x-sensitive":"phone","x-label":{"zh":"手机号","en":"Mobile"}},
      "address":{"type":"string","x-widget":"address","x-sensitive":"address","x-label":{"zh":"地址","en":"Address"}},
      "level":{"type":"string","enum":["normal","vip"],"x-widget":"select","x-label":{"zh":"等级","en":"Level"}}}},
    {"x-key":"order","x-title":{"zh":"订单","en":"Order"},"type":"object","properties":{
      "order_no":{"type":"string","x-widget":"serial","x-label":{"zh":"订单号","en":"Order no."},"x-serial":{"prefix":"SO-","date":"YYYYMMDD","digits":4}},
      "customer":{"type":"string","x-widget":"relation","x-label":{"zh":"客户","en":"Customer"},"x-relation":{"form":"customer","display":"name"},
                  "x-fill":{"phone":"contact_phone","address":"ship_address","level":"level"}},
      "contact_phone":{"type":"string","pattern":"^1[3-9][0-9]{9}$","x-widget":"phone","x-sensitive":"phone","x-label":{"zh":"联系电话","en":"Contact phone"}},
      "ship_address":{"type":"string","x-widget":"text","x-sensitive":"address","x-label":{"zh":"送货地址","en":"Delivery address"}},
      "level":{"type":"string","x-widget":"text","x-label":{"zh":"客户等级","en":"Customer level"}},
      "note":{"type":"string","x-widget":"text","x-label":{"zh":"备注","en":"Note"}}}}]}`

const (
	fillPhone, fillAddr   = "13800138000", "北京市朝阳区建国路88号"
	fillPhone2, fillAddr2 = "13912345678", "上海市浦东新区世纪大道100号"
)

// fillWorld is the harness with the sales app, its users and two customers.
type fillWorld struct {
	*harness
	c1, c2 string
}

func newFillWorld(t *testing.T) *fillWorld {
	h := newHarness(t, testConfig())
	if rec := h.do("POST", "/api/v1/apps", "admin", fillBundle, nil); rec.Code != http.StatusCreated {
		t.Fatalf("import: %d %s", rec.Code, rec.Body.String())
	}
	ctx := context.Background()
	for _, u := range []string{"clerk", "boss", "trainee"} {
		h.addUser(u, "store1", "sales", u)
	}
	w := &fillWorld{harness: h}
	boss := &engine.Principal{User: h.users["boss"]}
	for _, c := range []struct {
		id                       *string
		name, phone, addr, level string
	}{{&w.c1, "王芳", fillPhone, fillAddr, "vip"}, {&w.c2, "李雷", fillPhone2, fillAddr2, "normal"}} {
		r, err := h.svc.CreateRecord(ctx, boss, "sales", "customer", map[string]any{"name": c.name, "phone": c.phone, "address": c.addr, "level": c.level})
		if err != nil {
			t.Fatal(err)
		}
		*c.id = r.ID
	}
	return w
}

// stored reads an order as it is in the store (decrypted), whoever may see it.
func (w *fillWorld) stored(t *testing.T, id string) map[string]any {
	t.Helper()
	r, err := w.svc.GetRecord(context.Background(), &engine.Principal{User: w.users["admin"]}, "sales", "order", id)
	if err != nil {
		t.Fatal(err)
	}
	return r.Data
}

func TestAPIFill(t *testing.T) {
	const fillURL = "/api/v1/apps/sales/forms/order/fill/customer?record="
	const orders = "/api/v1/apps/sales/forms/order/records"
	type step struct {
		name, method, path, user, body string
		status                         int
		want, not                      []string
		stored                         map[string]any // the order's data as stored, when given (nil values: absent)
	}
	full := []string{`"contact_phone":{"value":"` + fillPhone + `"}`, `"ship_address":{"value":"` + fillAddr + `"}`, `"level":{"value":"vip"}`}
	tests := []step{
		{name: "the boss sees what the pick fills in full", method: "GET", path: fillURL + "C1", user: "boss", status: 200, want: full},
		{name: "the clerk sees it masked", method: "GET", path: fillURL + "C1", user: "clerk", status: 200,
			want: []string{`"contact_phone":{"value":"138****8000","masked":true}`, `"masked":true`, `"level":{"value":"vip"}`}, not: []string{fillPhone, fillAddr}},
		{name: "the trainee reads no customer", method: "GET", path: fillURL + "C1", user: "trainee", status: 404, not: []string{fillPhone, "vip"}},
		{name: "no such record", method: "GET", path: fillURL + "nope", user: "boss", status: 404},
		{name: "not a relation", method: "GET", path: "/api/v1/apps/sales/forms/order/fill/note?record=C1", user: "boss", status: 422},
		{name: "the boss's order is filled by the server", method: "POST", path: orders, user: "boss", body: `{"data":{"customer":"C1"}}`, status: 201,
			want:   []string{`"contact_phone":"` + fillPhone + `"`, `"level":"vip"`, `"order_no":"SO-`},
			stored: map[string]any{"contact_phone": fillPhone, "ship_address": fillAddr, "level": "vip"}},
		{name: "a pick overrides what the browser sent", method: "POST", path: orders, user: "boss", body: `{"data":{"customer":"C1","contact_phone":"13700000000","level":"normal"}}`, status: 201,
			want: []string{`"contact_phone":"` + fillPhone + `"`, `"level":"vip"`}, not: []string{"13700000000"}},
		{name: "the clerk's order stores no masked value", method: "POST", path: orders, user: "clerk",
			body: `{"data":{"customer":"C1","contact_phone":"138****8000","ship_address":"` + fmt.Sprint(engine.Mask("address", fillAddr)) + `"}}`, status: 201,
			want: []string{`"level":"vip"`}, not: []string{fillPhone, fillAddr, "****"},
			stored: map[string]any{"contact_phone": nil, "ship_address": nil, "level": "vip"}},
		{name: "nor when the browser sends nothing", method: "POST", path: orders, user: "clerk", body: `{"data":{"customer":"C1"}}`, status: 201,
			not: []string{fillPhone, fillAddr}, stored: map[string]any{"contact_phone": nil, "ship_address": nil, "level": "vip"}},
		{name: "a number the clerk types is theirs", method: "POST", path: orders, user: "clerk", body: `{"data":{"customer":"C1","contact_phone":"13600000000"}}`, status: 201,
			want: []string{`"contact_phone":"13600000000"`}, not: []string{fillPhone}, stored: map[string]any{"contact_phone": "13600000000", "ship_address": nil}},
		{name: "the trainee's pick fills nothing", method: "POST", path: orders, user: "trainee", body: `{"data":{"customer":"C1","level":"mine"}}`, status: 201,
			want: []string{`"level":"mine"`}, not: []string{fillPhone, "vip"}, stored: map[string]any{"contact_phone": nil, "level": "mine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newFillWorld(t)
			r := strings.NewReplacer("C1", w.c1, "C2", w.c2)
			rec := w.do(tt.method, r.Replace(tt.path), tt.user, r.Replace(tt.body), nil)
			checkBody(t, rec, tt.status, tt.want, tt.not)
			if tt.stored == nil {
				return
			}
			var out struct{ ID string }
			_ = json.Unmarshal(rec.Body.Bytes(), &out)
			data := w.stored(t, out.ID)
			for k, v := range tt.stored {
				if got, ok := data[k]; (v == nil && ok) || (v != nil && got != v) {
					t.Errorf("stored %s = %v (present %v), want %v", k, got, ok, v)
				}
			}
		})
	}
}

// checkBody fails unless rec has status and holds every want and no not.
func checkBody(t *testing.T, rec *httptest.ResponseRecorder, status int, want, not []string) {
	t.Helper()
	body := rec.Body.String()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, body)
	}
	for _, s := range want {
		if !strings.Contains(body, s) {
			t.Errorf("response lacks %q: %s", s, body)
		}
	}
	for _, s := range not {
		if strings.Contains(body, s) {
			t.Errorf("response holds forbidden %q: %s", s, body)
		}
	}
}

// TestAPIFillUpdate: an update fills again only when it picks another
// record; switching a clerk's order to a customer they see masked empties
// the fields the old customer filled; every read of a customer for a fill
// is audited as a view.
func TestAPIFillUpdate(t *testing.T) {
	w := newFillWorld(t)
	const orders = "/api/v1/apps/sales/forms/order/records/"
	patch := func(user, id string, version int, body string, status int, want, not []string) {
		t.Helper()
		rec := w.do("PATCH", orders[:len(orders)-1]+"/"+id, user, body, map[string]string{"If-Match": `"` + strconv.Itoa(version) + `"`})
		checkBody(t, rec, status, want, not)
	}
	boss := &engine.Principal{User: w.users["boss"]}
	o, err := w.svc.CreateRecord(context.Background(), boss, "sales", "order", map[string]any{"customer": w.c1})
	if err != nil {
		t.Fatal(err)
	}
	// the boss corrects the phone by hand: no pick, no fill
	patch("boss", o.ID, 1, `{"data":{"contact_phone":"13500000000","note":"call after 6pm"}}`, 200, []string{`"contact_phone":"13500000000"`}, nil)
	// picking another customer fills from it
	patch("boss", o.ID, 2, `{"data":{"customer":"`+w.c2+`"}}`, 200, []string{`"contact_phone":"` + fillPhone2 + `"`, `"level":"normal"`}, []string{"13500000000"})

	clerk := &engine.Principal{User: w.users["clerk"]}
	co, err := w.svc.CreateRecord(context.Background(), clerk, "sales", "order", map[string]any{"customer": w.c1, "contact_phone": "13600000000"})
	if err != nil {
		t.Fatal(err)
	}
	// switched to C2, whose phone the clerk sees masked: the number typed
	// for C1 does not stay with C2
	patch("clerk", co.ID, 1, `{"data":{"customer":"`+w.c2+`"}}`, 200, []string{`"level":"normal"`}, []string{"13600000000", fillPhone2})
	if data := w.stored(t, co.ID); data["contact_phone"] != nil || data["ship_address"] != nil {
		t.Errorf("after the switch the clerk's order holds %v / %v, want both empty", data["contact_phone"], data["ship_address"])
	}
	page, err := w.store.FindAuditEvents(context.Background(), engine.AuditQuery{Actor: w.users["clerk"].ID, Action: "view", Object: w.c2})
	if err != nil || len(page.Items) != 1 || page.Items[0].Reason != "x-fill" || page.Items[0].Form != "customer" {
		t.Fatalf("the clerk's read of C2 for the fill: %+v %v", page, err)
	}
	if got := page.Items[0].Fields; len(got) != 3 {
		t.Errorf("audited fields %v, want the three filled from", got)
	}
}

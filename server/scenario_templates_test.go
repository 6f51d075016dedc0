package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"formwork/engine"
	"formwork/engine/workflow"
	"formwork/templates"
)

// The templates as their roles live them, through the HTTP API: every
// step checks wanted and forbidden content in the response bytes.

// tplWorld is a harness with one template imported, its workflows running
// and users in its roles.
type tplWorld struct {
	*harness
	t      *testing.T
	app    string
	sample map[string][]map[string]any
}

func newTplWorld(t *testing.T, name string) *tplWorld {
	h := newHarness(t, testConfig())
	h.withWorkflows(workflow.Options{})
	rec := h.do("POST", "/api/v1/templates/"+name+"/import", "admin", "", nil)
	if rec.Code != http.StatusCreated {
		t.Fatalf("import %s: %d %s", name, rec.Code, rec.Body.String())
	}
	raw, _ := templates.Get(name)
	var doc struct {
		SampleData map[string][]map[string]any `json:"sample_data"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return &tplWorld{harness: h, t: t, app: name, sample: doc.SampleData}
}

// user adds a user with roles in the app and a token.
func (w *tplWorld) user(key, unit string, roles ...string) {
	w.t.Helper()
	ctx := context.Background()
	sys := engine.AuditActor{ID: engine.SystemActor}
	u, err := w.org.CreateUser(ctx, sys, engine.NewUser{Email: key + "@example.com", Name: key, Unit: unit, Roles: map[string][]string{w.app: roles}, Password: testPassword})
	if err != nil {
		w.t.Fatal(err)
	}
	secret, _, err := w.org.CreateToken(ctx, sys, u.ID, "test", nil)
	if err != nil {
		w.t.Fatal(err)
	}
	w.users[key], w.tokens[key] = u, secret
}

func (w *tplWorld) head(unit, user string) {
	w.t.Helper()
	if _, err := w.org.UpdateUnitHead(context.Background(), engine.AuditActor{ID: engine.SystemActor}, unit, w.users[user].ID); err != nil {
		w.t.Fatal(err)
	}
}

// sampleWith is a copy of the template's first sample record of form,
// changed by set (a nil value removes the key).
func (w *tplWorld) sampleWith(form string, set map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range w.sample[form][0] {
		out[k] = v
	}
	for k, v := range set {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// call sends one request and checks its status, wanted and forbidden
// content; it returns the decoded JSON object (nil if not an object).
func (w *tplWorld) call(step, method, path, user string, body any, headers map[string]string, status int, want, not []string) map[string]any {
	w.t.Helper()
	var b string
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			w.t.Fatal(err)
		}
		b = string(j)
	}
	rec := w.do(method, path, user, b, headers)
	got := rec.Body.String()
	if rec.Code != status {
		w.t.Fatalf("%s: %s %s as %s: status %d, want %d: %s", step, method, path, user, rec.Code, status, got)
	}
	for _, s := range want {
		if !strings.Contains(got, s) {
			w.t.Errorf("%s: response lacks %q: %s", step, s, got)
		}
	}
	for _, s := range not {
		if strings.Contains(got, s) {
			w.t.Errorf("%s: response holds forbidden %q: %s", step, s, got)
		}
	}
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return out
}

func (w *tplWorld) records(form string) string {
	return "/api/v1/apps/" + w.app + "/forms/" + form + "/records"
}

func (w *tplWorld) create(step, user, form string, data map[string]any, status int, want, not []string) map[string]any {
	w.t.Helper()
	return w.call(step, "POST", w.records(form), user, map[string]any{"data": data}, nil, status, want, not)
}

func (w *tplWorld) patch(step, user, form string, rec map[string]any, data map[string]any, status int, want, not []string) map[string]any {
	w.t.Helper()
	h := map[string]string{"If-Match": fmt.Sprintf(`"%v"`, rec["version"])}
	return w.call(step, "PATCH", w.records(form)+"/"+rec["id"].(string), user, map[string]any{"data": data}, h, status, want, not)
}

// approve finds user's open task on the record and approves it.
func (w *tplWorld) approve(step, user, record string) {
	w.t.Helper()
	rec := w.do("GET", "/api/v1/tasks?status=open", user, "", nil)
	var list struct {
		Items []workflow.Task `json:"items"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &list) != nil {
		w.t.Fatalf("%s: inbox of %s: %d %s", step, user, rec.Code, rec.Body.String())
	}
	for _, tk := range list.Items {
		if tk.Record == record {
			w.call(step, "POST", "/api/v1/tasks/"+tk.ID+"/approve", user, map[string]any{"comment": "同意 / approved"}, nil, http.StatusOK, nil, nil)
			return
		}
	}
	w.t.Fatalf("%s: %s has no open task on %s: %s", step, user, record, rec.Body.String())
}

func (w *tplWorld) noTask(step, user, record string) {
	w.t.Helper()
	w.call(step, "GET", "/api/v1/tasks?status=open", user, nil, nil, http.StatusOK, nil, []string{record})
}

// serial returns the serial number field of rec holds, failing unless it
// is in the form pattern gives (e.g. `SO-\d{8}-\d{4}`).
func (w *tplWorld) serial(step string, rec map[string]any, field, pattern string) string {
	w.t.Helper()
	data, _ := rec["data"].(map[string]any)
	no, _ := data[field].(string)
	if !regexp.MustCompile(`^` + pattern + `$`).MatchString(no) {
		w.t.Errorf("%s: %s = %q, want a number like %s", step, field, no, pattern)
	}
	return no
}

// serialNext fails unless b is the number after a (same prefix).
func (w *tplWorld) serialNext(step, a, b string) {
	w.t.Helper()
	i, j := strings.LastIndexByte(a, '-'), strings.LastIndexByte(b, '-')
	na, _ := strconv.Atoi(a[i+1:])
	nb, _ := strconv.Atoi(b[j+1:])
	if a[:i] != b[:j] || nb != na+1 {
		w.t.Errorf("%s: %q does not follow %q", step, b, a)
	}
}

func TestScenarioCRM(t *testing.T) {
	w := newTplWorld(t, "crm")
	w.user("rep1", "store1", "sales_rep")
	w.user("rep2", "store1", "sales_rep")
	w.user("mgr", "store1", "sales_manager")
	w.user("director", "hq", "sales_director")
	w.user("fin", "hq", "finance")
	w.user("ana", "hq", "analyst")
	w.head("store1", "mgr")

	const phone, company = "13800005555", "测试甲科技有限公司"
	// a lead comes in, is qualified and converted
	lead := w.create("rep1 records a lead", "rep1", "lead", map[string]any{"name": "测试联系人甲", "company": company, "phone": phone,
		"source": "exhibition", "status": "new"}, 201, []string{`"status":"new"`, phone}, nil)
	lead = w.patch("rep1 qualifies and converts it", "rep1", "lead", lead, map[string]any{"status": "qualified", "convert": true}, 200, nil, nil)
	w.call("the conversion action marked it", "GET", w.records("lead")+"/"+lead["id"].(string), "rep1", nil, nil, 200,
		[]string{`"status":"converted"`}, []string{`"convert":true`})
	// … into a customer and an opportunity
	cust := w.create("rep1 creates the customer", "rep1", "customer", map[string]any{"name": company, "customer_type": "company",
		"region": "east", "source": "exhibition", "phone": phone}, 201, []string{company, phone}, nil)
	cid := cust["id"].(string)
	w.create("rep1 creates the opportunity", "rep1", "opportunity", map[string]any{"name": company + "-系统采购", "customer": cid,
		"stage": "negotiation", "amount": 2500000, "expected_close_date": "2099-12-31", "needs": "全员上线"}, 201,
		[]string{`"weighted_amount":1750000`, `"probability":70`}, nil)
	w.create("a lost opportunity needs its reason", "rep1", "opportunity", map[string]any{"name": "测试输单", "stage": "lost",
		"amount": 1000, "expected_close_date": "2099-12-31"}, 422, []string{"/lost_reason"}, nil)
	w.create("a new opportunity cannot close in the past", "rep1", "opportunity", map[string]any{"name": "测试过期", "stage": "initial",
		"amount": 1000, "expected_close_date": "2001-01-01"}, 422, nil, nil)
	w.call("another rep does not see the customer", "GET", w.records("customer")+"/"+cid, "rep2", nil, nil, 404, nil, []string{company, phone})

	// a large contract: the manager, then director and finance countersign
	contract := w.create("rep1 submits a 2.5M contract", "rep1", "contract", map[string]any{"doc_type": "contract", "title": company + "合同",
		"customer": cid, "lines": []any{map[string]any{"product": "客户管理系统", "quantity": 1, "unit_price": 2500000}},
		"payment_terms": "split_50_50", "status": "submitted", "start_date": "2026-12-01", "end_date": "2027-12-01"}, 201,
		[]string{`"status":"in_review"`, `"total_amount":2500000`, `"outstanding_amount":2500000`}, nil)
	kid := contract["id"].(string)
	w.serial("the contract is numbered", contract, "contract_no", `HT-\d{6}-\d{4}`)
	w.noTask("the director waits for the manager", "director", kid)
	w.approve("the manager approves", "mgr", kid)
	w.approve("the director countersigns", "director", kid)
	w.call("still in review until finance signs", "GET", w.records("contract")+"/"+kid, "rep1", nil, nil, 200, []string{`"status":"in_review"`}, nil)
	w.approve("finance countersigns", "fin", kid)
	contract = w.call("the contract is in force", "GET", w.records("contract")+"/"+kid, "rep1", nil, nil, 200,
		[]string{`"status":"approved"`, `"status":"effective"`, `"signed_date":"`}, nil)

	// payments close the balance
	w.create("a payment above the balance is refused", "fin", "payment", map[string]any{"contract": kid, "outstanding_before": 2500000,
		"amount": 2600000, "payment_date": "2026-12-05", "method": "bank_transfer"}, 422, nil, nil)
	p1 := w.create("first payment", "fin", "payment", map[string]any{"contract": kid, "outstanding_before": 2500000, "amount": 1500000,
		"payment_date": "2026-12-05", "method": "bank_transfer", "payer_account": "6222000011112222", "payment_no": "HK-000000-9999"}, 201, []string{`"outstanding_after":1000000`}, []string{"HK-000000-9999"})
	p2 := w.create("second payment", "fin", "payment", map[string]any{"contract": kid, "outstanding_before": 1000000, "amount": 1000000,
		"payment_date": "2026-12-20", "method": "bank_transfer"}, 201, []string{`"outstanding_after":0`}, nil)
	w.serialNext("payments are numbered in turn", w.serial("first payment", p1, "payment_no", `HK-\d{6}-\d{4}`), w.serial("second payment", p2, "payment_no", `HK-\d{6}-\d{4}`))
	w.patch("finance books the payments", "fin", "contract", contract, map[string]any{"received_amount": 2500000}, 200,
		[]string{`"outstanding_amount":0`}, nil)
	w.call("the rep sees a payment's account masked", "GET", w.records("payment"), "rep1", nil, nil, 200, nil, []string{"6222000011112222"})

	// the analyst reads everything, masked
	forbidden := []string{company, phone, "测试联系人甲", "credit_code", "id_number", "6222000011112222"}
	w.call("analyst reads the customer", "GET", w.records("customer")+"/"+cid, "ana", nil, nil, 200, []string{`"region":"east"`, `"phone":"138`}, forbidden)
	w.call("analyst lists customers", "GET", w.records("customer"), "ana", nil, nil, 200, []string{cid}, forbidden)
	w.call("analyst lists leads", "GET", w.records("lead"), "ana", nil, nil, 200, []string{lead["id"].(string)}, forbidden)
	w.call("analyst lists payments", "GET", w.records("payment"), "ana", nil, nil, 200, []string{`"amount":1500000`}, forbidden)
	w.call("analyst cannot search by phone", "GET", w.records("customer")+`?filter={"phone":"`+phone+`"}`, "ana", nil, nil, 403, nil, []string{company})
	w.create("analyst cannot write", "ana", "customer", map[string]any{"name": "测试乙", "customer_type": "company", "region": "east",
		"source": "website", "phone": "13800006666"}, 403, nil, nil)
	w.call("analyst sees the form without hidden fields", "GET", "/api/v1/apps/crm/forms/customer", "ana", nil, nil, 200, nil, []string{`"credit_code"`, `"id_number"`})
}

func TestScenarioDealership(t *testing.T) {
	w := newTplWorld(t, "dealership")
	w.user("gm", "hq", "general_manager")
	w.user("smgr", "store1", "sales_manager")
	w.user("cons1", "store1", "sales_consultant")
	w.user("cons2", "store1", "sales_consultant")
	w.user("fin", "hq", "finance")
	w.user("adv", "store1", "service_advisor")
	w.user("fus", "store1", "followup_specialist")
	w.head("store1", "smgr")

	// stock with its cost price, entered by the sales manager
	veh := w.sample["vehicle"][0]
	cost := fmt.Sprint(veh["cost_price"])
	v := w.create("the manager stocks a vehicle", "smgr", "vehicle", w.sampleWith("vehicle", map[string]any{"cost_price": nil}), 201, nil, nil)
	vid := v["id"].(string)
	w.patch("the manager may not set the cost", "smgr", "vehicle", v, map[string]any{"cost_price": veh["cost_price"]}, 403, nil, nil)
	w.patch("the GM enters the cost", "gm", "vehicle", v, map[string]any{"cost_price": veh["cost_price"]}, 200, []string{`"cost_price":` + cost}, nil)
	w.call("the manager reads it", "GET", w.records("vehicle")+"/"+vid, "smgr", nil, nil, 200, []string{`"cost_price":` + cost}, nil)
	noCost := []string{"cost_price", cost}
	w.call("the consultant sees the vehicle without its cost", "GET", w.records("vehicle")+"/"+vid, "cons1", nil, nil, 200, []string{veh["vin"].(string)}, noCost)
	w.call("nor in the list", "GET", w.records("vehicle"), "cons1", nil, nil, 200, []string{vid}, noCost)
	w.call("nor in the form", "GET", "/api/v1/apps/dealership/forms/vehicle", "cons1", nil, nil, 200, nil, []string{"cost_price"})
	w.call("nor by sorting on it", "GET", w.records("vehicle")+"?sort=-cost_price", "cons1", nil, nil, 403, nil, []string{cost})

	// a walk-in lead, a customer, a test drive
	const name, phone = "测试顾客丙", "13900007777"
	w.create("a walk-in lead", "cons1", "lead", w.sampleWith("lead", map[string]any{"name": name, "phone": phone, "source": "walk_in"}), 201,
		[]string{`"source":"walk_in"`, name}, nil)
	idNo := w.sample["customer"][0]["id_number"].(string)
	cust := w.create("the consultant files the customer", "cons1", "customer", w.sampleWith("customer", map[string]any{"name": name, "phone": phone}), 201,
		[]string{name}, []string{idNo})
	cid := cust["id"].(string)
	licence := w.upload("cons1", "test_drive", "licence_photo")
	w.create("a test drive", "cons1", "test_drive", w.sampleWith("test_drive", map[string]any{"customer": cid, "licence_photo": []any{licence}}), 201,
		[]string{`"consent":true`}, nil)
	w.create("no test drive without consent", "cons1", "test_drive", w.sampleWith("test_drive", map[string]any{"consent": false}), 422, nil, nil)

	// an order at 10 % off: the manager, then the GM and finance countersign
	order := w.create("a 10% discount order", "cons1", "sales_order", w.sampleWith("sales_order", map[string]any{"customer": cid, "vehicle": vid,
		"list_price": 119800, "discount_amount": 11980, "status": "pending"}), 201,
		[]string{`"status":"in_review"`, `"final_price":107820`, `"discount_rate":0.1`}, noCost)
	oid := order["id"].(string)
	w.noTask("the GM waits for the manager", "gm", oid)
	w.approve("the sales manager approves", "smgr", oid)
	w.approve("the GM countersigns", "gm", oid)
	w.approve("finance countersigns", "fin", oid)
	w.call("the order is approved", "GET", w.records("sales_order")+"/"+oid, "cons1", nil, nil, 200, []string{`"status":"approved"`}, noCost)
	small := w.create("a 2% discount needs no approval", "cons1", "sales_order", w.sampleWith("sales_order", map[string]any{"customer": cid,
		"list_price": 100000, "discount_amount": 2000, "status": "pending"}), 201, []string{`"status":"active"`}, nil)
	w.noTask("nothing for the manager", "smgr", small["id"].(string))
	orderNo := w.serial("the order is numbered", order, "order_no", `SO-\d{8}-\d{4}`)
	smallNo := w.serial("so is the next", small, "order_no", `SO-\d{8}-\d{4}`)
	w.serialNext("orders are numbered in turn", orderNo, smallNo)
	w.patch("an order number cannot be changed", "cons1", "sales_order", small, map[string]any{"order_no": "SO-20000101-0001", "discount_amount": 1000}, 200,
		[]string{`"order_no":"` + smallNo + `"`, `"discount_amount":1000`}, []string{"SO-20000101-0001"})
	r1 := w.create("finance takes the deposit", "fin", "receipt", w.sampleWith("receipt", map[string]any{"sales_order": oid}), 201, nil, nil)
	r2 := w.create("and the balance", "fin", "receipt", w.sampleWith("receipt", map[string]any{"sales_order": oid, "kind": "balance"}), 201, nil, nil)
	w.serialNext("receipts are numbered in turn", w.serial("the deposit's receipt", r1, "receipt_no", `RC-\d{8}-\d{4}`), w.serial("the balance's receipt", r2, "receipt_no", `RC-\d{8}-\d{4}`))
	w.call("the order list shows the numbers", "GET", w.records("sales_order"), "cons1", nil, nil, 200, []string{orderNo, smallNo}, nil)

	// delivery, a service booking, a follow-up visit with a low score
	w.create("delivery", "cons1", "delivery", w.sampleWith("delivery", map[string]any{"order": oid, "customer": cid,
		"signature": []any{w.upload("cons1", "delivery", "signature")}, "photos": nil}), 201, []string{`"checklist":[`}, nil)
	w.create("a service booking", "adv", "service_booking", w.sampleWith("service_booking", map[string]any{"contact_name": name, "phone": phone}), 201,
		[]string{phone}, nil)
	// booking for the customer fills the contact from the customer record;
	// the advisor sees its phone masked, so it is not copied (the booking
	// needs one: the customer gives it)
	forCust := map[string]any{"customer": cid, "contact_name": nil, "phone": nil, "pickup": false, "pickup_address": nil}
	w.create("a booking for the customer copies no masked phone", "adv", "service_booking", w.sampleWith("service_booking", forCust), 422,
		[]string{`"/phone"`}, []string{phone})
	forCust["phone"] = "13700009999"
	w.create("the phone the customer gives is taken", "adv", "service_booking", w.sampleWith("service_booking", forCust), 201,
		[]string{`"contact_name":"` + name + `"`, `"phone":"13700009999"`}, []string{phone})
	w.create("a low score needs the complaint", "fus", "followup_visit", w.sampleWith("followup_visit", map[string]any{"satisfaction": 1, "nps": 2}), 422,
		[]string{"/complaint"}, nil)
	w.create("the low score with its complaint", "fus", "followup_visit", w.sampleWith("followup_visit", map[string]any{"satisfaction": 1, "nps": 2,
		"complaint": "交车等待时间过长（测试）", "complaint_category": w.complaintCategory()}), 201, []string{"交车等待时间过长"}, nil)
	w.call("the follow-up specialist sees the phone masked", "GET", w.records("customer")+"/"+cid, "fus", nil, nil, 200, []string{`"phone":"139`}, []string{phone, idNo})

	// the other consultant sees neither the customer nor the order
	mine := []string{name, phone, cid, oid}
	w.call("another consultant's customer is not found", "GET", w.records("customer")+"/"+cid, "cons2", nil, nil, 404, nil, mine)
	w.call("nor listed", "GET", w.records("customer"), "cons2", nil, nil, 200, nil, mine)
	w.call("nor the order", "GET", w.records("sales_order")+"/"+oid, "cons2", nil, nil, 404, nil, mine)
	w.call("nor the lead", "GET", w.records("lead"), "cons2", nil, nil, 200, nil, mine)
	w.call("the consultant's own customer shows the ID masked", "GET", w.records("customer")+"/"+cid, "cons1", nil, nil, 200, []string{name}, []string{idNo})
}

// upload stores a small image for a field as user and returns the value
// to put into the field.
func (w *tplWorld) upload(user, form, field string) string {
	w.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("field", field)
	fw, _ := mw.CreateFormFile("file", "photo.png")
	_, _ = fw.Write(testPNG(w.t, 8, 8)) // a real image: uploads are decoded in full
	_ = mw.Close()
	rec := w.do("POST", "/api/v1/apps/"+w.app+"/forms/"+form+"/uploads", user, body.String(), map[string]string{"Content-Type": mw.FormDataContentType()})
	var out struct {
		Value string `json:"value"`
	}
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.Value == "" {
		w.t.Fatalf("upload %s.%s: %d %s", form, field, rec.Code, rec.Body.String())
	}
	return out.Value
}

// complaintCategory is the first option of the follow-up visit's complaint category.
func (w *tplWorld) complaintCategory() string {
	raw, _ := templates.Get(w.app)
	var doc struct {
		Forms []struct {
			Key        string `json:"x-key"`
			Properties map[string]struct {
				Enum []any `json:"enum"`
			} `json:"properties"`
		} `json:"forms"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		w.t.Fatal(err)
	}
	for _, f := range doc.Forms {
		if f.Key == "followup_visit" {
			return fmt.Sprint(f.Properties["complaint_category"].Enum[0])
		}
	}
	w.t.Fatal("no complaint category")
	return ""
}

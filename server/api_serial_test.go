package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// counterBundle is an app whose tickets take one-digit numbers: the tenth
// has none left.
const counterBundle = `{"formwork":"1","app":{"key":"desk","name":{"zh":"服务台","en":"Desk"},"version":"1.0.0"},
  "roles":[],
  "forms":[{"x-key":"ticket","x-title":"Ticket","type":"object","properties":{
    "no":{"type":"string","x-widget":"serial","x-label":{"zh":"工单号","en":"Ticket no."},"x-serial":{"prefix":"T","digits":1}},
    "topic":{"type":"string","x-widget":"text"}}}]}`

func TestAPISerialNumbers(t *testing.T) {
	h := newHarness(t, testConfig())
	if rec := h.do("POST", "/api/v1/apps", "admin", counterBundle, nil); rec.Code != http.StatusCreated {
		t.Fatalf("import: %d %s", rec.Code, rec.Body.String())
	}
	const url = "/api/v1/apps/desk/forms/ticket/records"
	for i := 1; i <= 9; i++ {
		rec := h.do("POST", url, "admin", fmt.Sprintf(`{"data":{"topic":"t%d","no":"T0"}}`, i), nil)
		if want := fmt.Sprintf(`"no":"T%d"`, i); rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), want) {
			t.Fatalf("create %d: %d %s; want %s", i, rec.Code, rec.Body.String(), want)
		}
	}
	rec := h.do("POST", url, "admin", `{"data":{"topic":"t10"}}`, map[string]string{"Accept-Language": "zh-CN"})
	var p struct {
		Errors []struct{ Field, Code, Message string }
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	if rec.Code != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Field != "/no" || !strings.Contains(p.Errors[0].Message, "工单号的编号已用完") {
		t.Fatalf("the tenth ticket: %d %s; want 422 saying the numbers are used up", rec.Code, rec.Body.String())
	}
	list := h.do("GET", url+"?limit=100", "admin", "", nil)
	if strings.Contains(list.Body.String(), "t10") || strings.Count(list.Body.String(), `"topic"`) != 9 {
		t.Errorf("the refused ticket was written: %s", list.Body.String())
	}

	// a bad x-serial is refused at import with a pointer to it
	bad := strings.Replace(counterBundle, `"digits":1}`, `"digits":1,"reset":"daily"}`, 1)
	bad = strings.Replace(bad, `"key":"desk"`, `"key":"desk2"`, 1)
	rec = h.do("POST", "/api/v1/apps", "admin", bad, nil)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `/forms/0/properties/no/x-serial/reset`) {
		t.Errorf("bad x-serial: %d %s; want 422 pointing at it", rec.Code, rec.Body.String())
	}
}

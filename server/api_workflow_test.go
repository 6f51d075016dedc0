package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"formwork/engine"
	"formwork/engine/workflow"
)

// TestWorkflowAPI drives the shop's discount approval through the JSON
// API: the store head's inbox, approving, the record's timeline, and the
// refusals around them.
func TestWorkflowAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	h.withWorkflows(workflow.Options{})
	ctx := context.Background()
	if _, err := h.org.UpdateUnitHead(ctx, engine.AuditActor{ID: engine.SystemActor}, "store1", h.users["analyst"].ID); err != nil {
		t.Fatal(err)
	}
	rec, err := h.svc.CreateRecord(ctx, &engine.Principal{User: h.users["manager"]}, "shop", "customer",
		map[string]any{"name": "王小明", "phone": "13912345678", "level": "normal", "discount": 0.15})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != engine.StatusInReview {
		t.Fatalf("status %s, want in_review", rec.Status)
	}
	res := h.do(http.MethodGet, "/api/v1/tasks?status=open", "analyst", "", nil)
	var list struct {
		Items []workflow.Task `json:"items"`
		Open  int             `json:"open"`
	}
	if res.Code != http.StatusOK || json.Unmarshal(res.Body.Bytes(), &list) != nil || len(list.Items) != 1 || list.Open != 1 || list.Items[0].Record != rec.ID {
		t.Fatalf("inbox: %d %s", res.Code, res.Body)
	}
	task := list.Items[0].ID
	timeline := "/api/v1/apps/shop/forms/customer/records/" + rec.ID + "/timeline"
	tests := []struct {
		name, method, url, user, body string
		status                        int
		want, forbidden               []string
	}{
		{"another user's inbox is empty", "GET", "/api/v1/tasks?status=open", "staff", "", 200, []string{`"items":[]`}, []string{task}},
		{"a bad status", "GET", "/api/v1/tasks?status=maybe", "analyst", "", 422, nil, nil},
		{"the task page shows the step's fields, sensitive ones masked unless the step names them", "GET", "/api/v1/tasks/" + task, "analyst", "", 200, []string{`"discount":"edit"`, "139****5678", `"phone":"masked"`}, []string{"13912345678", "王小明"}},
		{"someone else's task is not found", "GET", "/api/v1/tasks/" + task, "staff", "", 404, nil, []string{"13912345678"}},
		{"someone else cannot approve it", "POST", "/api/v1/tasks/" + task + "/approve", "staff", `{}`, 404, nil, nil},
		{"unknown body keys are refused", "POST", "/api/v1/tasks/" + task + "/approve", "analyst", `{"comment":"ok","sneaky":1}`, 400, nil, nil},
		{"an unknown action", "POST", "/api/v1/tasks/" + task + "/launch", "analyst", `{}`, 404, nil, nil},
		{"editing a field the node only lets read", "POST", "/api/v1/tasks/" + task + "/approve", "analyst", `{"data":{"name":"x"}}`, 403, []string{"/name"}, nil},
		{"approve", "POST", "/api/v1/tasks/" + task + "/approve", "analyst", `{"comment":"fine"}`, 200, []string{`"status":"approved"`}, nil},
		{"approving again is harmless", "POST", "/api/v1/tasks/" + task + "/approve", "analyst", ``, 200, []string{`"status":"approved"`}, nil},
		{"rejecting after approving conflicts", "POST", "/api/v1/tasks/" + task + "/reject", "analyst", `{}`, 409, nil, nil},
		{"the submitter sees the timeline", "GET", timeline, "manager", "", 200, []string{`"kind":"create"`, `"kind":"approve"`, `"comment":"fine"`, `"kind":"approved"`}, nil},
		{"a stranger does not", "GET", timeline, "nobody", "", 404, nil, []string{"fine"}},
		{"withdrawing a finished approval", "POST", "/api/v1/apps/shop/forms/customer/records/" + rec.ID + "/withdraw", "manager", "", 404, nil, nil},
		{"the submitter's notification", "GET", "/api/v1/notifications?unread=true", "manager", "", 200, []string{`"kind":"result"`, `"unread":1`}, nil},
		{"mark read", "POST", "/api/v1/notifications/read", "manager", "", 204, nil, nil},
		{"nothing unread", "GET", "/api/v1/notifications?unread=true", "manager", "", 200, []string{`"unread":0`}, nil},
		{"anonymous", "GET", "/api/v1/tasks", "", "", 401, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(tc.method, tc.url, tc.user, tc.body, nil)
			body := res.Body.String()
			if res.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Code, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("response lacks %q: %s", w, body)
				}
			}
			for _, f := range tc.forbidden {
				if strings.Contains(body, f) {
					t.Errorf("response contains %q: %s", f, body)
				}
			}
		})
	}
	got, err := h.store.FindRecordByID(ctx, "shop", "customer", rec.ID, false)
	if err != nil || got.Status != engine.StatusApproved || got.Data["level"] != "vip" {
		t.Errorf("record after approval: %+v %v", got, err)
	}
}

// TestWorkflowDelegationAttacks replays, through the API, what an attacker
// tried on a running server: an approver handing the task to the record's
// submitter, who then approves their own record; adding the submitter as
// a signer; handing an east-unit record to a west-unit rep who may read
// only his own records, so he reads it through the task; and a submitter
// whom the node's own rule names. Each scenario runs on its own state.
func TestWorkflowDelegationAttacks(t *testing.T) {
	type setup struct {
		h         *harness
		rec, task string // the record and the store head's task on it
	}
	start := func(t *testing.T, submitterHeads bool) *setup {
		t.Helper()
		h := newHarness(t, testConfig())
		h.withWorkflows(workflow.Options{})
		ctx := context.Background()
		sys := engine.AuditActor{ID: engine.SystemActor}
		for _, u := range []engine.Unit{{Key: "east", Name: engine.T("华东", "East"), Parent: "hq"}, {Key: "west", Name: engine.T("华西", "West"), Parent: "hq"}} {
			if _, err := h.org.CreateUnit(ctx, sys, u); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := h.org.CreateUser(ctx, sys, engine.NewUser{Email: "rep@example.com", Name: "rep", Unit: "west",
			Roles: map[string][]string{"shop": {"staff"}}, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		secret, _, err := h.org.CreateToken(ctx, sys, rep.ID, "test", nil)
		if err != nil {
			t.Fatal(err)
		}
		h.users["rep"], h.tokens["rep"] = rep, secret
		head := "analyst"
		if submitterHeads {
			head = "manager"
		}
		if _, err := h.org.UpdateUnitHead(ctx, sys, "store1", h.users[head].ID); err != nil {
			t.Fatal(err)
		}
		rec, err := h.svc.CreateRecord(ctx, &engine.Principal{User: h.users["manager"]}, "shop", "customer",
			map[string]any{"name": "王小明", "phone": "13912345678", "level": "normal", "discount": 0.15, "budget": 880000})
		if err != nil {
			t.Fatal(err)
		}
		s := &setup{h: h, rec: rec.ID}
		if !submitterHeads {
			s.task = inboxOf(t, h, "analyst", rec.ID)
		}
		return s
	}
	deniedAudit := func(t *testing.T, h *harness, action, reason string) {
		t.Helper()
		page, err := h.store.FindAuditEvents(context.Background(), engine.AuditQuery{Action: action, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			if e.Result == engine.ResultDenied && e.Reason == reason {
				return
			}
		}
		t.Errorf("no denied %s event with reason %q", action, reason)
	}
	record := func(id string) string { return "/api/v1/apps/shop/forms/customer/records/" + id }

	t.Run("transfer to the submitter is refused; the submitter never gets the task", func(t *testing.T) {
		s := start(t, false)
		res := s.h.do("POST", "/api/v1/tasks/"+s.task+"/transfer", "analyst", `{"to":"manager@example.com"}`, nil)
		if res.Code != http.StatusForbidden || !strings.Contains(res.Body.String(), "submitter cannot decide") {
			t.Fatalf("transfer to the submitter: %d %s", res.Code, res.Body)
		}
		if got := inbox(t, s.h, "manager"); len(got) != 0 {
			t.Errorf("the submitter's inbox: %v, want empty", got)
		}
		if res := s.h.do("POST", "/api/v1/tasks/"+s.task+"/approve", "manager", `{}`, nil); res.Code != http.StatusNotFound {
			t.Errorf("the submitter approving the task: %d, want 404", res.Code)
		}
		if res := s.h.do("GET", record(s.rec), "manager", "", nil); !strings.Contains(res.Body.String(), `"status":"in_review"`) {
			t.Errorf("record after the attempt: %s", res.Body)
		}
		deniedAudit(t, s.h, "workflow.transfer", "target is the submitter")
	})
	t.Run("adding the submitter as a signer is refused", func(t *testing.T) {
		s := start(t, false)
		res := s.h.do("POST", "/api/v1/tasks/"+s.task+"/add_signer", "analyst", `{"to":"manager@example.com"}`, nil)
		if res.Code != http.StatusForbidden {
			t.Fatalf("add the submitter: %d %s", res.Code, res.Body)
		}
		if got := inbox(t, s.h, "manager"); len(got) != 0 {
			t.Errorf("the submitter's inbox: %v, want empty", got)
		}
		deniedAudit(t, s.h, "workflow.add_signer", "target is the submitter")
	})
	t.Run("a west rep who reads only his own records cannot be handed an east record", func(t *testing.T) {
		s := start(t, false)
		for _, action := range []string{"transfer", "add_signer"} {
			res := s.h.do("POST", "/api/v1/tasks/"+s.task+"/"+action, "analyst", `{"to":"rep@example.com"}`, nil)
			if res.Code != http.StatusForbidden || !strings.Contains(res.Body.String(), "may not read this record") {
				t.Errorf("%s to the rep: %d %s", action, res.Code, res.Body)
			}
			deniedAudit(t, s.h, "workflow."+action, "target may not read the record")
		}
		if got := inbox(t, s.h, "rep"); len(got) != 0 {
			t.Errorf("the rep's inbox: %v, want empty", got)
		}
		for _, url := range []string{"/api/v1/tasks/" + s.task, record(s.rec)} {
			res := s.h.do("GET", url, "rep", "", nil)
			if res.Code != http.StatusNotFound || strings.Contains(res.Body.String(), "880000") || strings.Contains(res.Body.String(), "王小明") {
				t.Errorf("the rep reads %s: %d %s", url, res.Code, res.Body)
			}
		}
	})
	t.Run("a transfer to someone who may read the record anyway goes through, audited", func(t *testing.T) {
		s := start(t, false)
		res := s.h.do("POST", "/api/v1/tasks/"+s.task+"/transfer", "analyst", `{"to":"admin@example.com"}`, nil)
		if res.Code != http.StatusOK {
			t.Fatalf("transfer to the administrator: %d %s", res.Code, res.Body)
		}
		if got := inbox(t, s.h, "admin"); len(got) != 1 {
			t.Errorf("the administrator's inbox: %v, want the task", got)
		}
		page, err := s.h.store.FindAuditEvents(context.Background(), engine.AuditQuery{Action: "workflow.transfer"})
		if err != nil || len(page.Items) != 1 || page.Items[0].Result != engine.ResultOK {
			t.Errorf("transfer audit: %+v %v", page, err)
		}
	})
	t.Run("a submitter the node's rule names is passed over: the step escalates", func(t *testing.T) {
		s := start(t, true)
		if got := inbox(t, s.h, "manager"); len(got) != 0 {
			t.Errorf("the submitter's inbox: %v, want empty", got)
		}
		if got := inbox(t, s.h, "admin"); len(got) != 1 {
			t.Errorf("the administrator's inbox: %v, want the escalated task", got)
		}
		res := s.h.do("GET", record(s.rec)+"/timeline", "manager", "", nil)
		for _, w := range []string{`"kind":"skip_self"`, `"kind":"escalate"`} {
			if !strings.Contains(res.Body.String(), w) {
				t.Errorf("timeline lacks %s: %s", w, res.Body)
			}
		}
		page, err := s.h.store.FindAuditEvents(context.Background(), engine.AuditQuery{Action: "workflow.skip_submitter"})
		if err != nil || len(page.Items) != 1 {
			t.Errorf("skip audit: %+v %v", page, err)
		}
	})
}

// inbox returns the records of user's open tasks.
func inbox(tb testing.TB, h *harness, user string) []string {
	tb.Helper()
	var out []string
	for _, t := range openTasksOf(tb, h, user) {
		out = append(out, t.Record)
	}
	return out
}

// inboxOf returns the id of user's open task on record.
func inboxOf(tb testing.TB, h *harness, user, record string) string {
	tb.Helper()
	for _, t := range openTasksOf(tb, h, user) {
		if t.Record == record {
			return t.ID
		}
	}
	tb.Fatalf("%s has no open task on %s", user, record)
	return ""
}

func openTasksOf(tb testing.TB, h *harness, user string) []workflow.Task {
	tb.Helper()
	res := h.do(http.MethodGet, "/api/v1/tasks?status=open", user, "", nil)
	var list struct {
		Items []workflow.Task `json:"items"`
	}
	if res.Code != http.StatusOK || json.Unmarshal(res.Body.Bytes(), &list) != nil {
		tb.Fatalf("inbox of %s: %d %s", user, res.Code, res.Body)
	}
	return list.Items
}

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

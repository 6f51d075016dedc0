package server

import (
	"context"
	"net/http"
	"testing"

	"formwork/engine"
	"formwork/engine/workflow"
)

// BenchmarkNotificationCount is the request every open page sends every
// few seconds (the bell): an approver with 300 unread notifications and
// 300 open tasks, on SQLite.
func BenchmarkNotificationCount(b *testing.B) {
	h := newHarness(b, testConfig())
	h.withWorkflows(workflow.Options{})
	ctx := context.Background()
	if _, err := h.org.UpdateUnitHead(ctx, engine.AuditActor{ID: engine.SystemActor}, "store1", h.users["analyst"].ID); err != nil {
		b.Fatal(err)
	}
	manager := &engine.Principal{User: h.users["manager"], IP: "127.0.0.1"}
	for range 300 {
		if _, err := h.svc.CreateRecord(ctx, manager, "shop", "customer", map[string]any{"name": "客户", "phone": "13912345678", "level": "normal", "discount": 0.15}); err != nil {
			b.Fatal(err)
		}
	}
	if rec := h.do("GET", "/api/v1/notifications/count", "analyst", "", nil); rec.Code != http.StatusOK || rec.Body.String() != `{"tasks":300,"unread":300}`+"\n" {
		b.Fatalf("count: %d %q", rec.Code, rec.Body)
	}
	b.ResetTimer()
	for b.Loop() {
		if rec := h.do("GET", "/api/v1/notifications/count", "analyst", "", nil); rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

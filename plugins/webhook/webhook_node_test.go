package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/workflow"
	"formwork/plugins/webhook"
)

// bodies is a webhook endpoint that keeps every body it is sent.
type bodies struct {
	mu  sync.Mutex
	got [][]byte
}

func (b *bodies) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, body)
}

// nodeBundle is an app whose form has a sensitive phone and an internal
// note, and two workflows that each call the webhook from an action node:
// one node without field permissions, one that masks the phone and hides
// the note.
func nodeBundle(url string) []byte {
	hook := func(key string, fields map[string]string) map[string]any {
		n := map[string]any{"key": key, "type": "action", "plugin": map[string]any{"name": webhook.Name, "config": map[string]any{"url": url}}}
		if fields != nil {
			n["fields"] = fields
		}
		return n
	}
	wf := func(kind string, node map[string]any) map[string]any {
		return map[string]any{"key": "wf_" + kind, "form": "lead", "name": map[string]string{"zh": "推送", "en": "Push"},
			"trigger": map[string]any{"on": []string{"create"}, "when": "kind == '" + kind + "'"}, "nodes": []any{node}}
	}
	b := map[string]any{
		"formwork": "1",
		"app":      map[string]any{"key": "crm", "name": map[string]string{"zh": "线索", "en": "Leads"}, "version": "1.0.0"},
		"roles":    []any{},
		"forms": []any{map[string]any{
			"$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "lead", "x-title": map[string]string{"zh": "线索", "en": "Lead"}, "type": "object",
			"properties": map[string]any{
				"kind":  map[string]any{"type": "string", "x-widget": "text", "x-label": "Kind"},
				"title": map[string]any{"type": "string", "x-widget": "text", "x-label": "Title"},
				"phone": map[string]any{"type": "string", "x-widget": "phone", "x-label": "Phone", "x-sensitive": "phone"},
				"note":  map[string]any{"type": "string", "x-widget": "text", "x-label": "Internal note"},
			},
		}},
		"workflows": []any{
			wf("plain", hook("push", nil)),
			wf("scoped", hook("push", map[string]string{"phone": "masked", "note": "hidden", "*": "read"})),
		},
	}
	raw, err := json.Marshal(b)
	if err != nil {
		panic(err)
	}
	return raw
}

// TestWebhookSendsWhatTheNodeMaySee runs a workflow's webhook call against
// a real HTTP receiver: the body holds the record as the action node may
// see it, never the full record.
func TestWebhookSendsWhatTheNodeMaySee(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		kind   string
		want   []string
		forbid []string
	}{
		// no field permissions on the node: what is not sensitive, in full
		{"plain", []string{`"title":"续约"`, `"note":"只给内部看"`}, []string{"13912345678", "5678", `"phone"`}},
		// the node's permissions: the phone masked, the note hidden
		{"scoped", []string{`"title":"续约"`, `"phone":"139****5678"`}, []string{"13912345678", "只给内部看", `"note"`}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			rcv := &bodies{}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			st := newStore(t)
			now := func() time.Time { return time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC) }
			org := engine.NewOrg(st, now)
			svc := engine.NewService(st, org, engine.ServiceOptions{Clock: now})
			t.Cleanup(svc.Close)
			reg := engine.NewPluginRegistry()
			webhook.Register(reg, webhook.Options{Store: st, Secret: []byte("s3cret")})
			w := workflow.New(svc, now, workflow.Options{Plugins: reg})
			admin := &engine.User{ID: engine.NewID(now()), Email: "admin@example.com", Name: "admin", Unit: "hq", Admin: true, CreatedAt: now()}
			if err := engine.PutUserRecord(ctx, st, admin); err != nil {
				t.Fatal(err)
			}
			p := &engine.Principal{User: admin, IP: "127.0.0.1"}
			if _, err := svc.ImportApp(ctx, p, nodeBundle(srv.URL), engine.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CreateRecord(ctx, p, "crm", "lead", map[string]any{"kind": tc.kind, "title": "续约", "phone": "13912345678", "note": "只给内部看"}); err != nil {
				t.Fatal(err)
			}
			jobs, err := st.FindOutbox(ctx, now().Add(time.Minute), 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range jobs {
				if j.Type == workflow.JobWorkflowPlugin {
					if err := w.HandleJob(ctx, j); err != nil {
						t.Fatal(err)
					}
				}
			}
			if len(rcv.got) != 1 {
				t.Fatalf("the receiver got %d posts, want 1", len(rcv.got))
			}
			body := string(rcv.got[0])
			for _, s := range tc.want {
				if !strings.Contains(body, s) {
					t.Errorf("the webhook body lacks %s: %s", s, body)
				}
			}
			for _, s := range tc.forbid {
				if strings.Contains(body, s) {
					t.Errorf("the webhook body holds %s: %s", s, body)
				}
			}
		})
	}
}

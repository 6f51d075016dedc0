package webhook_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/store/sqlite"
	"formwork/plugins/webhook"
)

func newStore(tb testing.TB) engine.Store {
	tb.Helper()
	s, err := sqlite.Open(filepath.Join(tb.TempDir(), "fw.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// receiver is a webhook endpoint that checks signatures and fails the
// first `fail` requests with 500.
type receiver struct {
	mu     sync.Mutex
	secret []byte
	fail   int
	status int // answer after the failures; default 200
	got    []string
	bad    int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !webhook.Verify(r.secret, body, req.Header.Get(webhook.SignatureHeader)) {
		r.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.got = append(r.got, req.Header.Get(webhook.DeliveryHeader))
	if r.fail > 0 {
		r.fail--
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	if r.status != 0 {
		w.WriteHeader(r.status)
	}
}

func TestWebhook(t *testing.T) {
	ctx := context.Background()
	secret := []byte("s3cret")
	tests := []struct {
		name       string
		fail       int
		status     int
		runs       int
		wantErrs   []string // per run: "", "retry" or "permanent"
		wantPosts  int
		wantStatus []int // attempts logged
		delivered  bool
	}{
		{"delivered at once, a redelivery does not post again", 0, 0, 2, []string{"", ""}, 1, []int{200}, true},
		{"retried after a 500", 1, 0, 3, []string{"retry", "", ""}, 2, []int{500, 200}, true},
		{"a 404 fails for good", 0, 404, 1, []string{"permanent"}, 1, []int{404}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := &receiver{secret: secret, fail: tc.fail, status: tc.status}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			st := newStore(t)
			reg := engine.NewPluginRegistry()
			p := webhook.Register(reg, webhook.Options{Store: st, Secret: secret})
			if reg.Get(webhook.Name) != p {
				t.Fatal("not registered")
			}
			m := engine.PluginMessage{ID: "job-1", Event: engine.EventAction, Record: "r1", Config: map[string]any{"url": srv.URL}, Data: map[string]any{"a": 1.0}}
			var errs []string
			for i := 0; i < tc.runs; i++ {
				err := p.Run(ctx, m)
				switch {
				case err == nil:
					errs = append(errs, "")
				case engine.IsPermanent(err):
					errs = append(errs, "permanent")
				default:
					errs = append(errs, "retry")
				}
			}
			if d := cmp.Diff(tc.wantErrs, errs); d != "" {
				t.Errorf("run results (-want +got):\n%s", d)
			}
			if len(rc.got) != tc.wantPosts || rc.bad != 0 {
				t.Errorf("posts %d (bad signatures %d), want %d", len(rc.got), rc.bad, tc.wantPosts)
			}
			dl, err := webhook.FindDelivery(ctx, st, "job-1")
			if err != nil {
				t.Fatal(err)
			}
			var statuses []int
			for _, a := range dl.Attempts {
				statuses = append(statuses, a.Status)
			}
			if d := cmp.Diff(tc.wantStatus, statuses); d != "" {
				t.Errorf("logged attempts (-want +got):\n%s", d)
			}
			if dl.Delivered != tc.delivered {
				t.Errorf("delivered %v, want %v", dl.Delivered, tc.delivered)
			}
		})
	}
	t.Run("a forged signature does not verify", func(t *testing.T) {
		if webhook.Verify(secret, []byte(`{"a":1}`), webhook.Sign([]byte("other"), []byte(`{"a":1}`))) {
			t.Error("verified a signature made with another key")
		}
	})
	t.Run("no url is a permanent failure", func(t *testing.T) {
		p := webhook.Register(engine.NewPluginRegistry(), webhook.Options{Store: newStore(t), Secret: secret})
		if err := p.Run(ctx, engine.PluginMessage{ID: "x"}); !engine.IsPermanent(err) {
			t.Errorf("got %v, want a permanent error", err)
		}
	})
}

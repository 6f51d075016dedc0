package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"formwork/engine"
)

// The peer benchmarks run the workload of the peer comparison (a customers
// form; creates as admin; as a staff role that sees only store S1 and not
// the phone, lists of level = gold sorted by -amount, 50 a page, and reads by
// id) in process, so each lever on the record paths can be measured with
// ns/op, allocs/op and a CPU profile. As in the peer run (and every
// server cmd/formwork starts) the store is wrapped in the encrypting store
// under a master key, and the HTTP metrics are kept.

const peerRecords = "/api/v1/apps/bench/forms/customers/records"

// peerRecord is the create body of customer i, drawn as the peer load
// generator draws it: stores S1..S4 uniform, gold 25%, silver 35%, bronze
// 40%, amounts 0..10000, notes of 10 to 40 words.
func peerRecord(rng *rand.Rand, i int) map[string]any {
	words := strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike " +
		"november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu")
	level := "bronze"
	switch lv := rng.IntN(100); {
	case lv < 25:
		level = "gold"
	case lv < 60:
		level = "silver"
	}
	notes := make([]string, 10+rng.IntN(30))
	for j := range notes {
		notes[j] = words[rng.IntN(len(words))]
	}
	return map[string]any{
		"name":       "Customer " + strconv.Itoa(i+1),
		"phone":      fmt.Sprintf("+1-555-%03d-%04d", rng.IntN(1000), rng.IntN(10000)),
		"store":      "S" + strconv.Itoa(1+rng.IntN(4)),
		"level":      level,
		"amount":     float64(rng.IntN(1_000_000)) / 100,
		"notes":      strings.Join(notes, " "),
		"created_on": time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
	}
}

// peer is the seeded peer harness: the base harness with the bench app, a
// staff user "clerk" and 4,000 customers (the peer run's two create phases
// of 2,000), kept as a SQLite file each peerHarness copies.
var peer struct {
	once   sync.Once
	file   string
	users  map[string]*engine.User
	tokens map[string]string
	s1     []string // ids of the records in store S1
}

// peerMaster is the peer harness's master key.
var peerMaster = []byte("peer-benchmark-master-key-32byte")

func peerHarness(b testing.TB) *harness {
	b.Helper()
	peer.once.Do(func() {
		newHarness(b, testConfig()) // the seeded base
		h := copyKeyedHarness(b, testConfig(), base.file, peerMaster, base.users, base.tokens)
		ctx := context.Background()
		admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
		bundle, err := os.ReadFile(filepath.Join("testdata", "customers.json"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.svc.ImportApp(ctx, admin, bundle, engine.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		h.addUser("clerk", "hq", "bench", "staff")
		rng := rand.New(rand.NewPCG(1, 0x5eed))
		for i := 0; i < 4000; i++ {
			r, err := h.svc.CreateRecord(ctx, admin, "bench", "customers", peerRecord(rng, i))
			if err != nil {
				b.Fatal(err)
			}
			if r.Data["store"] == "S1" {
				peer.s1 = append(peer.s1, r.ID)
			}
		}
		peer.file = filepath.Join(base.dir, "peer.db")
		h.snapshotTo(b, peer.file)
		peer.users, peer.tokens = h.users, h.tokens
	})
	if peer.file == "" {
		b.Fatal("the peer harness could not be built")
	}
	h := copyKeyedHarness(b, testConfig(), peer.file, peerMaster, peer.users, peer.tokens)
	h.metrics = prometheus.NewRegistry()
	h.e = h.app(nil)
	return h
}

// benchPeer runs req against a fresh copy of the peer harness at 1 and 8
// clients.
func benchPeer(b *testing.B, req func(h *harness) func(c *http.Client, base string, i int) int) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			h := peerHarness(b)
			benchServe(b, h, n, req(h))
		})
	}
}

func BenchmarkHTTPPeerCreate(b *testing.B) {
	benchPeer(b, func(h *harness) func(*http.Client, string, int) int {
		tok := h.tokens["admin"]
		rng := rand.New(rand.NewPCG(2, 0x5eed))
		var bodies []string
		for i := 0; i < 1000; i++ {
			body, _ := json.Marshal(map[string]any{"data": peerRecord(rng, 4000+i)})
			bodies = append(bodies, string(body))
		}
		return func(c *http.Client, base string, i int) int {
			return do(c, "POST", base+peerRecords, tok, bodies[(i+len(bodies))%len(bodies)])
		}
	})
}

func BenchmarkHTTPPeerList(b *testing.B) {
	benchPeer(b, func(h *harness) func(*http.Client, string, int) int {
		tok := h.tokens["clerk"]
		path := peerRecords + "?filter=" + url.QueryEscape(`{"level":{"$eq":"gold"}}`) + "&sort=-amount&limit=50"
		return func(c *http.Client, base string, i int) int {
			return do(c, "GET", base+path, tok, "")
		}
	})
}

func BenchmarkHTTPPeerGet(b *testing.B) {
	benchPeer(b, func(h *harness) func(*http.Client, string, int) int {
		tok := h.tokens["clerk"]
		return func(c *http.Client, base string, i int) int {
			return do(c, "GET", base+peerRecords+"/"+peer.s1[(i+len(peer.s1))%len(peer.s1)], tok, "")
		}
	})
}

// TestPeerWorkload checks that the peer benchmarks measure what the peer
// run checks: the staff list holds only S1 gold records without the phone,
// sorted by -amount, and a read by id hides the phone too.
func TestPeerWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 4,000 records")
	}
	h := peerHarness(t)
	w := h.do("GET", peerRecords+"?filter="+url.QueryEscape(`{"level":{"$eq":"gold"}}`)+"&sort=-amount&limit=50", "clerk", "", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	var list struct {
		Items []struct {
			ID   string         `json:"id"`
			Data map[string]any `json:"data"`
		} `json:"items"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 50 {
		t.Fatalf("list holds %d records, want 50", len(list.Items))
	}
	prev := 1e18
	for _, it := range list.Items {
		if _, ok := it.Data["phone"]; ok || it.Data["store"] != "S1" || it.Data["level"] != "gold" {
			t.Fatalf("list record %v", it.Data)
		}
		a := it.Data["amount"].(float64)
		if a > prev {
			t.Fatalf("list not sorted by -amount at %v", it.Data)
		}
		prev = a
	}
	w = h.do("GET", peerRecords+"/"+peer.s1[0], "clerk", "", nil)
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "+1-555") {
		t.Fatalf("get: %d %s", w.Code, w.Body)
	}
}

package mongo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"formwork/engine"
	"formwork/engine/store/mongo/mongotest"
	"formwork/engine/totp"
)

// atRestEncodings returns the byte forms a value could take in a stored
// document: UTF-8 (BSON strings), JSON as Go writes it, and ASCII-only JSON
// with \uXXXX escapes (JSON kept inside a string, such as an audit detail).
func atRestEncodings(s string) [][]byte {
	out := [][]byte{[]byte(s)}
	j, _ := json.Marshal(s)
	out = append(out, bytes.Trim(j, `"`))
	var esc strings.Builder
	for _, r := range s {
		if r < 128 {
			esc.WriteRune(r)
		} else {
			fmt.Fprintf(&esc, "\\u%04x", r)
		}
	}
	return append(out, []byte(esc.String()))
}

// scanCollections reads every document of every collection of database db
// as raw BSON and reports each collection holding any encoding of any value.
func scanCollections(tb testing.TB, uri, db string, values []string) []string {
	tb.Helper()
	ctx := context.Background()
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Disconnect(ctx)
	names, err := c.Database(db).ListCollectionNames(ctx, bson.D{})
	if err != nil {
		tb.Fatal(err)
	}
	var hits []string
	docs := 0
	for _, name := range names {
		cur, err := c.Database(db).Collection(name).Find(ctx, bson.D{})
		if err != nil {
			tb.Fatal(err)
		}
		for cur.Next(ctx) {
			docs++
			raw := bytes.ToLower(cur.Current)
			for _, v := range values {
				for _, e := range atRestEncodings(v) {
					if bytes.Contains(raw, bytes.ToLower(e)) {
						hits = append(hits, name+": "+v)
					}
				}
			}
		}
		if err := cur.Err(); err != nil {
			tb.Fatal(err)
		}
		cur.Close(ctx)
	}
	if docs == 0 {
		tb.Fatal("nothing to scan")
	}
	return hits
}

// TestSensitiveFieldsNotAtRest imports a bundle whose sample data holds
// sensitive values, enrols a user in two-factor authentication, writes,
// updates and looks up records with x-sensitive fields through the Service
// over the encrypting store on the server at FORMWORK_MONGO_URI, then reads
// every stored document of the database: the raw values and the TOTP
// secret (base32 and its otpauth URL) must appear in none of the
// collections (records, revisions, audit, outbox, docs).
func TestSensitiveFieldsNotAtRest(t *testing.T) {
	if mongotest.URI() == "" {
		t.Skip("FORMWORK_MONGO_URI not set: MongoDB at-rest scan skipped")
	}
	ctx := context.Background()
	uri, name := mongotest.Database(t)
	raw, err := Open(ctx, uri, Options{Database: name, DisableTransactions: mongotest.NoTransactions()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	now := func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) }

	master := make([]byte, engine.MasterKeySize)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	keys, err := engine.NewKeyring(raw, master, now)
	if err != nil {
		t.Fatal(err)
	}
	st := engine.NewEncryptingStore(raw, keys, engine.StoreForms(raw))
	org := engine.NewOrg(st, now)
	sys := engine.AuditActor{ID: engine.SystemActor}
	if _, err := org.CreateUnit(ctx, sys, engine.Unit{Key: "hq", Name: engine.T("总部", "HQ")}); err != nil {
		t.Fatal(err)
	}
	svc := engine.NewService(st, org, engine.ServiceOptions{Clock: now, TOTP: totp.New(), Keys: keys})
	t.Cleanup(svc.Close)
	u, err := org.CreateUser(ctx, sys, engine.NewUser{Email: "admin@example.com", Name: "admin", Unit: "hq", Admin: true,
		Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	admin := &engine.Principal{User: u, IP: "10.1.2.3"}
	bundle, err := os.ReadFile("../../testdata/shop.json")
	if err != nil {
		t.Fatal(err)
	}
	// shop.json's sample data holds a sensitive name and phone: the
	// published bundle keeps them only sealed, the sample records only encrypted
	if _, err := svc.ImportApp(ctx, admin, bundle, engine.ImportOptions{SampleData: true, Wait: true}); err != nil {
		t.Fatal(err)
	}
	if got, err := svc.ExportApp(ctx, admin, "shop"); err != nil || !bytes.Equal(got, bundle) {
		t.Fatalf("export: %v, equal to the import %v", err, bytes.Equal(got, bundle))
	}
	// a TOTP secret, kept only sealed under the system key
	en, err := svc.EnrolMFA(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.New().Code(en.Secret, now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ConfirmMFA(ctx, admin, code); err != nil {
		t.Fatal(err)
	}

	secrets := []string{"欧阳娜娜", "13912342222", "13655557777", "13700001111", "司马相如", "15811112222",
		"张伟", "13800138000", en.Secret, en.URL}
	a, err := svc.CreateRecord(ctx, admin, "shop", "customer", map[string]any{"name": "欧阳娜娜", "phone": "13912342222",
		"contacts": []any{map[string]any{"who": "lee", "tel": "13700001111"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateRecord(ctx, admin, "shop", "customer", map[string]any{"name": "司马相如", "phone": "15811112222"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateRecord(ctx, admin, "shop", "customer", a.ID, 1, map[string]any{"phone": "13655557777"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateRecord(ctx, admin, "shop", "customer", a.ID, 2, map[string]any{"level": "vip", "vip_since": "2026-01-02"}); err != nil {
		t.Fatal(err)
	}
	// The values come back to a reader, and an equality lookup finds them
	// (through the blind index), so they were stored, only not in clear.
	got, err := svc.GetRecord(ctx, admin, "shop", "customer", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["name"] != "欧阳娜娜" || got.Data["phone"] != "13655557777" {
		t.Fatalf("read back name %v phone %v", got.Data["name"], got.Data["phone"])
	}
	l, err := svc.ListRecords(ctx, admin, "shop", "customer", engine.ListQuery{Filter: []byte(`{"phone":"13655557777"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].ID != a.ID {
		t.Fatalf("lookup by phone = %v, want %s", l.Items, a.ID)
	}

	if hits := scanCollections(t, uri, name, secrets); len(hits) > 0 {
		t.Errorf("raw sensitive values in the collections: %v", hits)
	}
	// The scan is able to find a value: a field that is not sensitive is there.
	if hits := scanCollections(t, uri, name, []string{"2026-01-02"}); len(hits) == 0 {
		t.Errorf("the scan finds nothing, not even a clear field")
	}
}

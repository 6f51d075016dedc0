package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"formwork/engine"
)

// BenchmarkDocVersions is the one read a request's authentication makes
// (a credential, its user, two epochs), against reading the credential
// and the user as docs.
func BenchmarkDocVersions(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var refs []engine.DocRef
	for i, kind := range []string{"token", "user", "auth_epoch", "auth_epoch"} {
		id := fmt.Sprintf("%s-%d", kind, i)
		if _, err := s.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: kind, ID: id,
			Value: json.RawMessage(`{"user_id":"u1","name":"张三","roles":{"shop":["staff"]}}`)}, ExpectVersion: engine.AnyVersion}}}); err != nil {
			b.Fatal(err)
		}
		refs = append(refs, engine.DocRef{Kind: kind, ID: id})
	}
	b.Run("versions", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.DocVersions(ctx, refs); err != nil {
				b.Fatal(err)
			}
		}
	})
	// as a request reads them: after a write (its audit event) moved the
	// WAL, so the reader starts over from the file (timed: the read only)
	b.Run("after a write", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			ev := &engine.AuditEvent{Time: time.Unix(int64(i), 0).UTC(), Actor: "u1", Action: "view", App: "a", Form: "f", Object: fmt.Sprint(i), Result: engine.ResultOK}
			if _, err := s.Apply(ctx, &engine.Change{Audit: []*engine.AuditEvent{ev}}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := s.DocVersions(ctx, refs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("two docs", func(b *testing.B) {
		for b.Loop() {
			for _, r := range refs[:2] {
				if _, err := s.FindDoc(ctx, r.Kind, r.ID); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
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

// BenchmarkDocVersionsManyDocs is the authentication's read after a write
// among 30,000 docs of 1.5 KB (sessions, users, tasks pile up): the
// lookups go through docs_versions, not through the docs' own rows.
func BenchmarkDocVersionsManyDocs(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	val := json.RawMessage(`{"v":"` + strings.Repeat("x", 1500) + `"}`)
	kinds := []string{"session", "user", "task", "auth_epoch", "app", "notification"}
	for i := 0; i < 30000; i += 1000 {
		var ws []engine.DocWrite
		for j := i; j < i+1000; j++ {
			ws = append(ws, engine.DocWrite{Doc: engine.Doc{Kind: kinds[j%len(kinds)], ID: fmt.Sprintf("id-%06d", j), Value: val},
				ExpectVersion: engine.AnyVersion})
		}
		if _, err := s.Apply(ctx, &engine.Change{Docs: ws}); err != nil {
			b.Fatal(err)
		}
	}
	refs := []engine.DocRef{{Kind: "session", ID: "id-000000"}, {Kind: "user", ID: "id-012001"}, {Kind: "task", ID: "id-020002"},
		{Kind: "auth_epoch", ID: "id-029003"}, {Kind: "app", ID: "id-015004"}}
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		ev := &engine.AuditEvent{Time: time.Unix(int64(i), 0).UTC(), Actor: "u1", Action: "view", Object: fmt.Sprint(i), Result: engine.ResultOK}
		if _, err := s.Apply(ctx, &engine.Change{Audit: []*engine.AuditEvent{ev}}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		vs, err := s.DocVersions(ctx, refs)
		if err != nil || vs[0] != 1 || vs[4] != 1 {
			b.Fatal(vs, err)
		}
	}
}

// BenchmarkDocWrite is one doc written again (a session's last use, a
// task's state): the docs row and its docs_versions entry.
func BenchmarkDocWrite(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	val := json.RawMessage(`{"user_id":"u1","last_seen_at":"2026-12-07T00:00:00Z"}`)
	for i := 0; b.Loop(); i++ {
		if _, err := s.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: "session", ID: fmt.Sprintf("s-%d", i%100), Value: val},
			ExpectVersion: engine.AnyVersion}}}); err != nil {
			b.Fatal(err)
		}
	}
}

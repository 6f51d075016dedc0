package email_test

import (
	"bufio"
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/store/sqlite"
	"formwork/plugins/email"
)

// smtpServer is a minimal SMTP listener on 127.0.0.1: enough of RFC 5321
// for net/smtp to deliver (EHLO, MAIL, RCPT, DATA, QUIT).
type smtpServer struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []smtpMsg
}

type smtpMsg struct {
	From string
	To   []string
	Data string
}

func startSMTP(tb testing.TB) *smtpServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	tb.Cleanup(func() { ln.Close() })
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { c.Write([]byte(line + "\r\n")) }
	say("220 localhost ESMTP test")
	var cur smtpMsg
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-localhost")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			cur = smtpMsg{From: strings.Trim(line[10:], "<> ")}
			say("250 OK")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			cur.To = append(cur.To, strings.Trim(line[8:], "<> "))
			say("250 OK")
		case cmd == "DATA":
			say("354 go ahead")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			cur.Data = data.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 OK")
		}
	}
}

func (s *smtpServer) messages() []smtpMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMsg(nil), s.msgs...)
}

func TestEmail(t *testing.T) {
	ctx := context.Background()
	srv := startSMTP(t)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "fw.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := engine.NewPluginRegistry()
	p := email.Register(reg, email.Options{Addr: srv.ln.Addr().String(), From: "formwork@example.com", Store: st})
	if reg.Get(email.Name) != p {
		t.Fatal("not registered")
	}
	m := engine.PluginMessage{ID: "n1", Event: engine.EventNotification, Title: engine.T("待审批：折扣审批", "To approve: Discount approval"),
		App: "shop", Form: "customer", Record: "r1", To: []engine.Recipient{{ID: "u1", Email: "boss@example.com", Name: "Boss"}},
		Config: map[string]any{"to": []any{"cc@example.com", "not an address"}}}
	for i := 0; i < 2; i++ { // the second run is a redelivery: nothing is sent
		if err := p.Run(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	if d := cmp.Diff([]string{"boss@example.com", "cc@example.com"}, msgs[0].To); d != "" {
		t.Errorf("recipients (-want +got):\n%s", d)
	}
	for _, want := range []string{"Message-ID: <n1@formwork>", "Subject: =?utf-8?q?", "To approve: Discount approval", "待审批：折扣审批"} {
		if !strings.Contains(msgs[0].Data, want) {
			t.Errorf("message lacks %q:\n%s", want, msgs[0].Data)
		}
	}
	if err := p.Run(ctx, engine.PluginMessage{ID: "n2"}); !engine.IsPermanent(err) {
		t.Errorf("no recipient: %v, want a permanent error", err)
	}
	down := email.Register(engine.NewPluginRegistry(), email.Options{Addr: "127.0.0.1:1", From: "formwork@example.com"})
	if err := down.Run(ctx, engine.PluginMessage{ID: "n3", To: []engine.Recipient{{Email: "a@example.com"}}}); err == nil || engine.IsPermanent(err) {
		t.Errorf("server down: %v, want a retryable error", err)
	}
}

// TestEmailStoredSettingsFirst: settings an administrator stored win over
// the environment's server; without them the environment's is used; with
// neither nothing is sent and no retry can help.
func TestEmailStoredSettingsFirst(t *testing.T) {
	ctx := context.Background()
	env, stored := startSMTP(t), startSMTP(t)
	var cfg *engine.MailConfig
	p := email.Register(engine.NewPluginRegistry(), email.Options{Addr: env.ln.Addr().String(), From: "env@example.com",
		Settings: func(context.Context) (*engine.MailConfig, error) { return cfg, nil }})
	msg := func(id string) engine.PluginMessage {
		return engine.PluginMessage{ID: id, Title: engine.T("抄送：折扣审批", "For your information: Discount approval"),
			To: []engine.Recipient{{Email: "rep@example.com", Lang: "zh"}}}
	}
	if err := p.Run(ctx, msg("a")); err != nil {
		t.Fatal(err)
	}
	port := stored.ln.Addr().(*net.TCPAddr).Port
	cfg = &engine.MailConfig{Host: "127.0.0.1", Port: port, Security: engine.MailPlain, From: "stored@example.com"}
	if err := p.Run(ctx, msg("b")); err != nil {
		t.Fatal(err)
	}
	if e, s := env.messages(), stored.messages(); len(e) != 1 || len(s) != 1 || !strings.HasPrefix(e[0].From, "env@example.com>") || !strings.HasPrefix(s[0].From, "stored@example.com>") {
		t.Fatalf("environment server got %+v, stored server got %+v", e, s)
	}
	body := stored.messages()[0].Data
	if !strings.Contains(body, "抄送：折扣审批") || strings.Contains(body, "For your information") {
		t.Errorf("a Chinese reader's mail is not in Chinese only:\n%s", body)
	}
	none := email.Register(engine.NewPluginRegistry(), email.Options{Settings: func(context.Context) (*engine.MailConfig, error) { return nil, nil }})
	if err := none.Run(ctx, msg("c")); !engine.IsPermanent(err) {
		t.Errorf("no server anywhere: %v, want a permanent error", err)
	}
}

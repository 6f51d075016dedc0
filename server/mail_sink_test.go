package server

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net"
	"net/mail"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// mailSink is an SMTP server on 127.0.0.1 started by a test (go-smtp):
// it asks for a login when user is set and keeps every message it
// accepts.
type mailSink struct {
	addr       *net.TCPAddr
	user, pass string

	mu   sync.Mutex
	msgs []sunkMail
}

// sunkMail is one accepted message, its subject decoded.
type sunkMail struct {
	From    string
	To      []string
	Subject string
	Body    string
}

func startMailSink(tb testing.TB, user, pass string) *mailSink {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	k := &mailSink{addr: ln.Addr().(*net.TCPAddr), user: user, pass: pass}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{k: k}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return k
}

func (k *mailSink) mails() []sunkMail {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]sunkMail(nil), k.msgs...)
}

type sinkSession struct {
	k      *mailSink
	authed bool
	cur    sunkMail
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.k.user || pass != s.k.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.authed = true
		return nil
	}), nil
}

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.k.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.cur = sunkMail{From: from}
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return errors.New("not a message: " + err.Error())
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return err
	}
	s.cur.Subject, s.cur.Body = subject, string(body)
	s.k.mu.Lock()
	s.k.msgs = append(s.k.msgs, s.cur)
	s.k.mu.Unlock()
	return nil
}

func (s *sinkSession) Reset()        { s.cur = sunkMail{} }
func (s *sinkSession) Logout() error { return nil }

// Package email is the email plugin: it sends notifications (and action
// nodes' messages) over SMTP with net/smtp. It is a channel plugin: list
// "email" in the workflow runtime's channels and every in-app notification
// also goes to the user's address.
package email

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"formwork/engine"
)

// Name is the plugin's name.
const Name = "email"

// KindSent is the doc kind that records a message sent, so a redelivered
// job does not send it twice.
const KindSent = "email_sent"

// Options configure the plugin.
type Options struct {
	// Settings reads the mail settings an administrator stored
	// (engine.Service.MailConfig); nil, or nil settings, fall back to Addr,
	// From and Auth (the environment).
	Settings func(ctx context.Context) (*engine.MailConfig, error)
	Addr     string    // SMTP server host:port, when no settings are stored
	From     string    // sender address, when no settings are stored
	Auth     smtp.Auth // optional (PLAIN refuses unencrypted connections except to localhost)
	Store    engine.Store
	Clock    func() time.Time // default time.Now
	// Send replaces smtp.SendMail (for a TLS dialer, say); nil uses smtp.SendMail.
	Send func(addr string, a smtp.Auth, from string, to []string, msg []byte) error
}

// Plugin is the email plugin.
type Plugin struct{ o Options }

// Register adds the email plugin to reg and returns it.
func Register(reg *engine.PluginRegistry, o Options) *Plugin {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Send == nil {
		o.Send = smtp.SendMail
	}
	p := &Plugin{o: o}
	reg.Register(p)
	return p
}

// Name implements engine.Plugin.
func (p *Plugin) Name() string { return Name }

// Run implements engine.Plugin: it mails the message to its recipients
// (m.To, plus config "to": an address or a list of them). A message
// recorded as sent is not sent again; the Message-ID carries the message
// id so mail clients fold a duplicate that slipped through (a crash
// between sending and recording).
func (p *Plugin) Run(ctx context.Context, m engine.PluginMessage) error {
	cfg, err := p.config(ctx)
	if err != nil {
		return err
	}
	if cfg == nil {
		return engine.Permanent(engine.Errorf(engine.EUNAVAILABLE, engine.T("尚未设置邮件服务器", "no mail server is set up")))
	}
	if p.o.Store != nil {
		if _, err := p.o.Store.FindDoc(ctx, KindSent, m.ID); err == nil {
			return nil
		} else if engine.ErrorCode(err) != engine.ENOTFOUND {
			return fmt.Errorf("email: read sent log: %w", err)
		}
	}
	var to []string
	add := func(a string) {
		a = strings.TrimSpace(a)
		if addr, err := mail.ParseAddress(a); err == nil && addr.Address == a && !contains(to, a) {
			to = append(to, a)
		}
	}
	for _, r := range m.To {
		add(r.Email)
	}
	switch v := m.Config["to"].(type) {
	case string:
		add(v)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				add(s)
			}
		}
	}
	if len(to) == 0 {
		return engine.Permanent(errors.New("email: no valid recipient"))
	}
	msg := p.compose(m, cfg.From, to)
	if err := cfg.send(ctx, p.o.Send, to, msg); err != nil {
		return err
	}
	if p.o.Store != nil {
		now := p.o.Clock()
		rec, _ := json.Marshal(map[string]any{"to": to, "at": now.UTC(), "record": m.Record})
		_, err := p.o.Store.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: KindSent, ID: m.ID, Value: rec, Updated: now}}}})
		if err != nil && engine.ErrorCode(err) != engine.ECONFLICT {
			return fmt.Errorf("email: record sent: %w", err)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// compose builds the message: the subject (RFC 2047 encoded) and a
// plain-text body in the recipient's language (the first recipient's), or
// in both when it is not known.
func (p *Plugin) compose(m engine.PluginMessage, from string, to []string) []byte {
	lang := ""
	if len(m.To) > 0 {
		lang = m.To[0].Lang
	}
	subject, body := m.Title.Zh, m.Title.Zh+"\r\n"+m.Title.En+"\r\n\r\n"
	switch {
	case lang == "zh" || lang == "en":
		subject, body = m.Title.In(lang), m.Title.In(lang)+"\r\n\r\n"
	case m.Title.En != "" && m.Title.En != m.Title.Zh:
		subject += " / " + m.Title.En
	}
	if subject == "" {
		subject = "Formwork"
	}
	var b strings.Builder
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", from)
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", p.o.Clock().UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+m.ID+"@formwork>")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	b.WriteString(body)
	if m.App != "" {
		b.WriteString(fmt.Sprintf("%s / %s / %s\r\n", m.App, m.Form, m.Record))
	}
	if m.Kind == "test" {
		b.WriteString(footer(lang, engine.T("这是一封测试邮件：收到它说明邮件设置可用。", "This is a test: receiving it means the mail settings work.")))
	}
	b.WriteString(footer(lang, engine.T("此邮件由 Formwork 自动发送，请勿直接回复。", "Sent by Formwork; please do not reply to this message.")))
	return []byte(b.String())
}

// footer is a closing line in lang, or in both languages when lang is not
// known.
func footer(lang string, t engine.Text) string {
	if lang == "zh" || lang == "en" {
		return "\r\n" + t.In(lang) + "\r\n"
	}
	return "\r\n" + t.Zh + "\r\n" + t.En + "\r\n"
}

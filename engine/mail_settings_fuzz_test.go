package engine

import (
	"net"
	"net/mail"
	"strconv"
	"strings"
	"testing"
)

// FuzzMailSettingsValidate: whatever an administrator types, Validate
// either refuses it with field errors in both languages or accepts
// settings that cannot smuggle a header or an SMTP command into a
// message (no line breaks) and name a real port and sender.
func FuzzMailSettingsValidate(f *testing.F) {
	f.Add("smtp.example.com", 587, "starttls", "mailer", "secret", "noreply@example.com")
	f.Add("[::1]", 25, "plain", "", "", "a@b.c")
	f.Add("smtp example", 0, "ssl", "a\r\nRCPT TO:<x@y>", "p\n", "Name <a@b.c>")
	f.Add("10.0.0.1", 65536, "tls", "u", "p", "a@b.c\r\nBcc: x@y")
	f.Fuzz(func(t *testing.T, host string, port int, security, user, pass, from string) {
		m := &MailSettings{Host: host, Port: port, Security: security, Username: user, Password: pass, From: from}
		err := m.Validate()
		if err != nil {
			if ErrorCode(err) != EINVALID || len(ErrorFields(err)) == 0 {
				t.Fatalf("refused without field errors: %v", err)
			}
			for _, fe := range ErrorFields(err) {
				if fe.Message.Zh == "" || fe.Message.En == "" || !strings.HasPrefix(fe.Field, "/") {
					t.Fatalf("field error %+v", fe)
				}
			}
			return
		}
		if strings.ContainsAny(m.Host+m.Username+m.Password+m.From, "\r\n") {
			t.Fatalf("accepted a line break: %+v", m)
		}
		if m.Port < 1 || m.Port > 65535 {
			t.Fatalf("accepted port %d", m.Port)
		}
		if a, err := mail.ParseAddress(m.From); err != nil || a.Address != m.From {
			t.Fatalf("accepted sender %q", m.From)
		}
		addr := (&MailConfig{Host: m.Host, Port: m.Port}).Addr()
		if h, p, err := net.SplitHostPort(addr); err != nil || h != m.Host || p != strconv.Itoa(m.Port) {
			t.Fatalf("address %q of host %q port %d: %q %q %v", addr, m.Host, m.Port, h, p, err)
		}
	})
}

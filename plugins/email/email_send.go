package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"time"

	"formwork/engine"
)

// sendTimeout bounds one conversation with the mail server.
const sendTimeout = 30 * time.Second

// mailConfig is what one message goes out with: the stored settings, or
// the environment's address, sender and auth.
type mailConfig struct {
	engine.MailConfig
	addr   string    // the environment's host:port
	auth   smtp.Auth // the environment's
	stored bool
}

// config is the stored settings when an administrator saved some, else
// the environment's; nil when neither names a server and a sender.
func (p *Plugin) config(ctx context.Context) (*mailConfig, error) {
	if p.o.Settings != nil {
		c, err := p.o.Settings(ctx)
		if err != nil {
			return nil, fmt.Errorf("email: read settings: %w", err)
		}
		if c != nil {
			return &mailConfig{MailConfig: *c, addr: c.Addr(), stored: true}, nil
		}
	}
	if p.o.Addr == "" || p.o.From == "" {
		return nil, nil
	}
	return &mailConfig{MailConfig: engine.MailConfig{From: p.o.From}, addr: p.o.Addr, auth: p.o.Auth}, nil
}

// send delivers msg: with the environment's settings through legacy
// (smtp.SendMail unless a test replaced it), with stored ones over the
// connection security they name, authenticating when a user name is set.
func (c *mailConfig) send(ctx context.Context, legacy func(string, smtp.Auth, string, []string, []byte) error, to []string, msg []byte) error {
	if !c.stored {
		if err := legacy(c.addr, c.auth, c.From, to, msg); err != nil {
			return sendError(err, c.addr)
		}
		return nil
	}
	if err := c.converse(ctx, to, msg); err != nil {
		return sendError(err, c.addr)
	}
	return nil
}

func (c *mailConfig) converse(ctx context.Context, to []string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	d := &net.Dialer{}
	var conn net.Conn
	var err error
	tlsConf := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	if c.Security == engine.MailTLS {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", c.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", c.addr)
	}
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer cl.Close()
	if c.Security == engine.MailStartTLS {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return errNoStartTLS
		}
		if err := cl.StartTLS(tlsConf); err != nil {
			return err
		}
	}
	if c.Username != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, c.Host)); err != nil {
			return err
		}
	}
	if err := cl.Mail(c.From); err != nil {
		return err
	}
	for _, r := range to {
		if err := cl.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := cl.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return cl.Quit()
}

var errNoStartTLS = errors.New("the server does not offer STARTTLS")

// sendError words a failed send for the administrator who set the server
// up (the mail settings page shows it); the cause stays wrapped for the
// log.
func sendError(err error, addr string) error {
	msg := engine.Tf("发送邮件失败（%s）", "sending the mail failed (%s)", addr)
	var tp *textproto.Error
	var op *net.OpError
	var rec tls.RecordHeaderError
	var cert *tls.CertificateVerificationError
	switch {
	case errors.As(err, &tp) && (tp.Code == 535 || tp.Code == 534 || tp.Code == 530):
		msg = engine.T("邮件服务器拒绝了用户名或密码", "the mail server refused the user name or password")
	case errors.As(err, &tp):
		msg = engine.Tf("邮件服务器拒绝了这封邮件：%d %s", "the mail server refused the message: %d %s", tp.Code, tp.Msg)
	case errors.Is(err, errNoStartTLS):
		msg = engine.T("邮件服务器不支持 STARTTLS 加密，请换一种加密方式", "the mail server does not offer STARTTLS; choose another encryption")
	case errors.As(err, &cert), errors.As(err, &rec):
		msg = engine.T("无法与邮件服务器建立加密连接（证书或加密方式不符）", "no encrypted connection to the mail server (its certificate or the encryption chosen does not fit)")
	case errors.Is(err, context.DeadlineExceeded):
		msg = engine.Tf("邮件服务器 %s 没有及时应答", "the mail server %s did not answer in time", addr)
	case errors.As(err, &op):
		msg = engine.Tf("无法连接邮件服务器 %s", "cannot reach the mail server %s", addr)
	case err.Error() == "unencrypted connection": // net/smtp's PlainAuth away from localhost
		msg = engine.T("用户名和密码只能经加密连接发送：请选择 STARTTLS 或 TLS", "a user name and password are only sent over an encrypted connection: choose STARTTLS or TLS")
	}
	return &engine.Error{Code: engine.EUNAVAILABLE, Message: msg, Err: fmt.Errorf("email: send: %w", err)}
}

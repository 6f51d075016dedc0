package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// SettingsMail is the id of the mail settings doc (kind KindSettings).
const SettingsMail = "mail"

// Mail connection security.
const (
	MailPlain    = "plain"    // no encryption: a relay on the same machine or network
	MailStartTLS = "starttls" // upgrade with STARTTLS, required (port 587)
	MailTLS      = "tls"      // TLS from the first byte (port 465)
)

// MailSettings are the SMTP server notifications go out through, set by an
// administrator on /admin/mail; without them the email plugin falls back to
// the environment (FORMWORK_SMTP_ADDR, FORMWORK_SMTP_FROM). The password is
// write-only: it is sealed under the system data key when stored and never
// read back out; PasswordSet says whether one is stored.
type MailSettings struct {
	Host        string     `json:"host"`
	Port        int        `json:"port"`
	Security    string     `json:"security"` // MailPlain, MailStartTLS, MailTLS
	Username    string     `json:"username,omitempty"`
	Password    string     `json:"password,omitempty"`       // in: a new password; "" keeps the stored one
	ClearPass   bool       `json:"clear_password,omitempty"` // in: forget the stored password
	From        string     `json:"from"`
	PasswordSet bool       `json:"password_set"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
	UpdatedBy   string     `json:"updated_by,omitempty"`
}

// MailConfig is what the email plugin sends with: the stored settings with
// the password opened.
type MailConfig struct {
	Host, Security, Username, Password, From string
	Port                                     int
}

// Addr is the server's host:port.
func (c *MailConfig) Addr() string { return joinHostPort(c.Host, c.Port) }

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// mailDoc is the stored form of MailSettings: the password sealed.
type mailDoc struct {
	MailSettings
	Sealed string `json:"sealed,omitempty"`
}

const mailAAD = "settings/mail"

var mailHostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]{2,45}\]?$`)

// Validate checks settings as an administrator typed them; EINVALID with
// one field error per problem, in plain words.
func (m *MailSettings) Validate() error {
	var errs []FieldError
	add := func(field, code string, msg Text) {
		errs = append(errs, FieldError{Field: field, Code: code, Message: msg})
	}
	m.Host = strings.Trim(strings.TrimSpace(m.Host), "[]")
	m.From = strings.TrimSpace(m.From)
	m.Username = strings.TrimSpace(m.Username)
	switch {
	case m.Host == "":
		add("/host", "required", T("请填写邮件服务器地址", "enter the mail server's address"))
	case !mailHostRE.MatchString(m.Host):
		add("/host", "format", T("邮件服务器地址应为域名或 IP 地址，如 smtp.example.com", "the mail server is a host name or an IP address, such as smtp.example.com"))
	}
	if m.Port < 1 || m.Port > 65535 {
		add("/port", "range", T("端口应为 1 到 65535 之间的数字，常用 25、465 或 587", "the port is a number from 1 to 65535, usually 25, 465 or 587"))
	}
	switch m.Security {
	case MailPlain, MailStartTLS, MailTLS:
	default:
		add("/security", "enum", T("请选择连接加密方式", "choose how the connection is encrypted"))
	}
	if a, err := mail.ParseAddress(m.From); m.From == "" || err != nil || a.Address != m.From {
		add("/from", "format", T("发件人应为邮箱地址，如 noreply@example.com", "the sender is an email address, such as noreply@example.com"))
	}
	if len(m.Username) > 256 {
		add("/username", "maxLength", T("用户名太长（最多 256 个字符）", "the user name is too long (256 characters at most)"))
	}
	if len(m.Password) > 1024 {
		add("/password", "maxLength", T("密码太长（最多 1024 个字符）", "the password is too long (1024 characters at most)"))
	}
	if strings.ContainsAny(m.Username+m.Password+m.From, "\r\n") {
		add("/username", "format", T("不能包含换行", "may not hold a line break"))
	}
	if len(errs) > 0 {
		return Invalid(errs...)
	}
	return nil
}

// MailSettings returns the stored mail settings without the password
// (administrators); nil when none are stored (the environment applies).
func (s *Service) MailSettings(ctx context.Context, p *Principal) (*MailSettings, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "settings.read", "", "", SettingsMail, "not an administrator", err)
	}
	d, _, err := s.mailDoc(ctx)
	if err != nil || d == nil {
		return nil, err
	}
	out := d.MailSettings
	out.Password, out.ClearPass = "", false
	out.PasswordSet = d.Sealed != "" || d.Password != ""
	return &out, nil
}

func (s *Service) mailDoc(ctx context.Context) (*mailDoc, int64, error) {
	d, v, err := findDocAs[mailDoc](ctx, s.store, KindSettings, SettingsMail)
	if ErrorCode(err) == ENOTFOUND {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read mail settings: %w", err)
	}
	return d, v, nil
}

// SetMailSettings stores the mail settings (administrators): a password
// given replaces the stored one, none keeps it, ClearPass forgets it.
// Audited as settings.mail (never with the password). EINVALID with field
// errors for bad settings; ECONFLICT when another administrator saved in
// between.
func (s *Service) SetMailSettings(ctx context.Context, p *Principal, in *MailSettings) (*MailSettings, error) {
	if err := requireAdmin(p); err != nil {
		return nil, s.deny(ctx, p, "settings.mail", "", "", SettingsMail, "not an administrator", err)
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	old, version, err := s.mailDoc(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	d := &mailDoc{MailSettings: MailSettings{Host: in.Host, Port: in.Port, Security: in.Security, Username: in.Username, From: in.From,
		UpdatedAt: &now, UpdatedBy: p.User.ID}}
	password, changed := in.Password, in.Password != "" || in.ClearPass
	if !changed && old != nil {
		if password, err = s.openMailPassword(ctx, old); err != nil {
			return nil, err
		}
	}
	if password != "" {
		if s.keys == nil {
			d.Password = password // a store that keeps nothing encrypted (tests without keys)
		} else if d.Sealed, err = s.keys.Encrypt(ctx, SystemKeyring, mailAAD, password); err != nil {
			return nil, fmt.Errorf("seal mail password: %w", err)
		}
	}
	ev := s.Event(p, "settings.mail", "", "", SettingsMail, nil, ResultOK, "")
	ev.Detail = MustJSON(map[string]any{"host": d.Host, "port": d.Port, "security": d.Security, "username": d.Username, "from": d.From,
		"password_changed": changed})
	if _, err := s.store.Apply(ctx, &Change{Docs: []DocWrite{{Doc: Doc{Kind: KindSettings, ID: SettingsMail, Value: MustJSON(d), Updated: now},
		ExpectVersion: version}}, Audit: []*AuditEvent{ev}}); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return nil, Errorf(ECONFLICT, T("邮件设置刚被他人修改，请刷新后再试", "someone else just changed the mail settings; reload and try again"))
		}
		return nil, fmt.Errorf("set mail settings: %w", err)
	}
	out := d.MailSettings
	out.Password, out.PasswordSet = "", password != ""
	return &out, nil
}

func (s *Service) openMailPassword(ctx context.Context, d *mailDoc) (string, error) {
	if d.Sealed == "" {
		return d.Password, nil
	}
	if s.keys == nil {
		return "", fmt.Errorf("mail settings: the password is sealed and this store holds no keys")
	}
	plain, err := s.keys.Open(ctx, SystemKeyring, mailAAD, d.Sealed)
	if err != nil {
		return "", fmt.Errorf("mail settings: %w", err)
	}
	var pw string
	if err := json.Unmarshal(plain, &pw); err != nil {
		return "", fmt.Errorf("mail settings: %w", err)
	}
	return pw, nil
}

// MailConfig returns the stored mail settings with the password opened,
// for the email plugin only (never for a response); nil when none are
// stored, so the plugin uses the environment.
func (s *Service) MailConfig(ctx context.Context) (*MailConfig, error) {
	d, _, err := s.mailDoc(ctx)
	if err != nil || d == nil {
		return nil, err
	}
	pw, err := s.openMailPassword(ctx, d)
	if err != nil {
		return nil, err
	}
	return &MailConfig{Host: d.Host, Port: d.Port, Security: d.Security, Username: d.Username, Password: pw, From: d.From}, nil
}

// TestMail sends a test message through ch (the email plugin) to p, an
// administrator, in lang; audited as settings.mail.test with its result.
// The error of a failed send is ch's, worded for the page.
func (s *Service) TestMail(ctx context.Context, p *Principal, ch Plugin, lang string) error {
	if err := requireAdmin(p); err != nil {
		return s.deny(ctx, p, "settings.mail.test", "", "", SettingsMail, "not an administrator", err)
	}
	if ch == nil {
		return Errorf(EUNAVAILABLE, T("本服务器未启用邮件通知", "email is not enabled on this server"))
	}
	now := s.now()
	m := PluginMessage{ID: "mailtest-" + NewID(now), Event: EventNotification, Kind: "test",
		Title: T("Formwork 测试邮件", "Formwork test mail"),
		To:    []Recipient{{ID: p.User.ID, Email: p.User.Email, Name: p.User.Name, Lang: lang}}}
	err := ch.Run(ctx, m)
	result, reason := ResultOK, ""
	if err != nil {
		result, reason = ResultFailed, err.Error()
	}
	if werr := s.audit.Write(ctx, s.Event(p, "settings.mail.test", "", "", SettingsMail, nil, result, reason)); werr != nil && err == nil {
		return werr
	}
	return err
}

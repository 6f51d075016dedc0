package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"formwork/engine"
	"formwork/engine/backup"
	"formwork/engine/queue"
	"formwork/server"
)

// The settings. Every one is a flag and a FORMWORK_* environment variable
// (a flag wins over the variable, the variable over the default); `formwork
// serve --help` lists them all with their defaults, and README's settings
// table is checked against these two types by TestREADMEListsEverySetting.
// Globals are the ones every command reads (where the store and its keys
// are); Process adds those of a running server (serve and worker).
// Secrets also come from a file (NAME_FILE, for container secrets); their
// values are taken from the environment only, never from a flag another
// user could read in the process list.

// Globals are the settings every command takes.
type Globals struct {
	Data              string     `help:"Data directory: the embedded store, its master key and backups." default:"./data" type:"path" env:"FORMWORK_DATA"`
	MongoURI          string     `name:"mongo-uri" help:"MongoDB connection URI; set, the store is MongoDB (a replica set) instead of the embedded SQLite file." env:"FORMWORK_MONGO_URI"`
	MongoTransactions string     `help:"auto, or off for a MongoDB-wire server without transactions (FerretDB; weaker guarantees)." enum:"auto,off" default:"auto" env:"FORMWORK_MONGO_TRANSACTIONS"`
	MasterKeyFile     secretFile `help:"File holding the master key (base64) that wraps the data keys of sensitive fields, or the key itself in FORMWORK_MASTER_KEY; neither: DATA/master.key, generated on first start." env:"FORMWORK_MASTER_KEY_FILE" secret:"FORMWORK_MASTER_KEY" placeholder:"FILE"`
	BackupKeyFile     secretFile `help:"File holding the backup key (base64), or the key itself in FORMWORK_BACKUP_KEY; neither: DATA/backup.key, generated on first use." env:"FORMWORK_BACKUP_KEY_FILE" secret:"FORMWORK_BACKUP_KEY" placeholder:"FILE"`
	TimeZone          timeZone   `help:"The organisation's time zone (IANA name such as Asia/Shanghai): role policies' hours, the rules' today, named periods." default:"UTC" env:"FORMWORK_TIME_ZONE"`
	LogFormat         string     `help:"Log lines as text or json (slog)." enum:"text,json" default:"text" env:"FORMWORK_LOG_FORMAT"`
	LogLevel          string     `help:"Least level logged: debug, info, warn or error." enum:"debug,info,warn,error" default:"info" env:"FORMWORK_LOG_LEVEL"`
}

// Process are the settings of a running server process (serve, worker).
type Process struct {
	Addr            string        `help:"Address the web process listens on." default:"127.0.0.1:8080" env:"FORMWORK_ADDR"`
	RedisAddr       string        `help:"Redis address (host:port or redis://[:password@]host:port/db) of the job queue; unset, role all runs an embedded one." env:"FORMWORK_REDIS_ADDR"`
	PublicURL       string        `name:"public-url" help:"The address people reach the server at (https://forms.example.com): public form links and QR codes start with it; https:// makes every cookie Secure and pages send HSTS." env:"FORMWORK_PUBLIC_URL"`
	TLSCert         string        `name:"tls-cert" help:"Certificate file (PEM) to serve HTTPS directly, with --tls-key; cookies are then Secure and pages send HSTS." type:"path" env:"FORMWORK_TLS_CERT" placeholder:"FILE"`
	TLSKey          string        `name:"tls-key" help:"Private key file (PEM) of --tls-cert." type:"path" env:"FORMWORK_TLS_KEY" placeholder:"FILE"`
	TrustedProxies  proxyRanges   `help:"Comma-separated addresses or CIDR ranges of reverse proxies: X-Forwarded-For, X-Forwarded-Proto and X-Request-Id are believed only from a connection that comes from one." env:"FORMWORK_TRUSTED_PROXIES" placeholder:"CIDR,..."`
	TrustProxy      bool          `help:"Trust proxies on loopback, private and link-local addresses (as listing those ranges in --trusted-proxies)." env:"FORMWORK_TRUST_PROXY"`
	RateIP          rateLimit     `name:"rate-ip" help:"Requests per second per client address, PER_SECOND[:BURST]; 0 turns the limit off." default:"50:200" env:"FORMWORK_RATE_IP"`
	RateUser        rateLimit     `help:"Requests per second per signed-in user, PER_SECOND[:BURST]; 0 turns the limit off." default:"30:120" env:"FORMWORK_RATE_USER"`
	RateLogin       rateLimit     `help:"Login attempts per second per client address, PER_SECOND[:BURST]; 0 turns the limit off." default:"0.5:10" env:"FORMWORK_RATE_LOGIN"`
	RatePublic      rateLimit     `help:"Public form submissions per second per client address, PER_SECOND[:BURST]; 0 turns the limit off." default:"0.1:10" env:"FORMWORK_RATE_PUBLIC"`
	SessionTTL      time.Duration `name:"session-ttl" help:"Lifetime of browser sessions and login tokens." default:"12h" env:"FORMWORK_SESSION_TTL"`
	LockoutThresh   int           `name:"lockout-threshold" help:"Failed logins before an account is locked." default:"5" env:"FORMWORK_LOCKOUT_THRESHOLD"`
	LockoutDuration time.Duration `help:"How long a locked account stays locked." default:"15m" env:"FORMWORK_LOCKOUT_DURATION"`
	BodyLimit       byteSize      `help:"Largest JSON or form request body (bytes, or 1MiB-style); larger is refused with 413." default:"1MiB" env:"FORMWORK_BODY_LIMIT"`
	UploadLimit     byteSize      `help:"Largest multipart (file upload) request body, which may carry several files; at least --upload-file-limit." default:"41MiB" env:"FORMWORK_UPLOAD_LIMIT"`
	UploadFileLimit byteSize      `help:"Largest single uploaded file (held in memory while it is checked and stored), up to 256MiB." default:"10MiB" env:"FORMWORK_UPLOAD_FILE_LIMIT"`
	UploadMaxAge    time.Duration `help:"How long an upload no record holds is kept before the hourly collector removes it." default:"24h" env:"FORMWORK_UPLOAD_MAX_AGE"`
	BinRetention    int           `name:"bin-retention-days" help:"Records in a recycle bin longer than this many days are purged by the hourly collector; 0 keeps them until an administrator purges them." default:"0" env:"FORMWORK_BIN_RETENTION_DAYS"`
	SMTPAddr        string        `name:"smtp-addr" help:"SMTP server (host:port) for notification mail when /admin/mail has no settings." env:"FORMWORK_SMTP_ADDR"`
	SMTPFrom        string        `name:"smtp-from" help:"Sender address of that mail." env:"FORMWORK_SMTP_FROM"`
	WebhookURL      string        `name:"webhook-url" help:"Address notifications are also POSTed to (signed with the webhook secret; both needed)." env:"FORMWORK_WEBHOOK_URL"`
	WebhookSecret   secretFile    `name:"webhook-secret-file" help:"File holding the webhook signing secret, or the secret itself in FORMWORK_WEBHOOK_SECRET." env:"FORMWORK_WEBHOOK_SECRET_FILE" secret:"FORMWORK_WEBHOOK_SECRET" placeholder:"FILE"`
	MetricsAddr     string        `help:"Address of /metrics (Prometheus) and, with the pprof token, /debug/pprof/; empty: not served." env:"FORMWORK_METRICS_ADDR"`
	PprofToken      secretFile    `name:"pprof-token-file" help:"File holding the bearer token /debug/pprof/ on the metrics address asks for, or the token itself in FORMWORK_PPROF_TOKEN; neither: no profiling." env:"FORMWORK_PPROF_TOKEN_FILE" secret:"FORMWORK_PPROF_TOKEN" placeholder:"FILE"`
	BackupEvery     backupEvery   `help:"How often the worker takes a backup of the embedded store (a duration of a minute or more), or off." default:"24h" env:"FORMWORK_BACKUP_EVERY"`
	BackupDir       string        `help:"Where scheduled backups go; default DATA/backups." type:"path" env:"FORMWORK_BACKUP_DIR" placeholder:"DIR"`
	BackupCopyDir   string        `help:"A second place (another disk, a mount) that receives a copy of each backup, pruned alike." type:"path" env:"FORMWORK_BACKUP_COPY_DIR" placeholder:"DIR"`
	BackupDaily     int           `name:"backup-keep-daily" help:"Daily backups kept." default:"7" env:"FORMWORK_BACKUP_KEEP_DAILY"`
	BackupWeekly    int           `name:"backup-keep-weekly" help:"Weekly backups kept." default:"4" env:"FORMWORK_BACKUP_KEEP_WEEKLY"`
	ShutdownTimeout time.Duration `help:"On SIGTERM, how long in-flight requests and running jobs may finish; a job still running then goes back to the queue and runs again later." default:"30s" env:"FORMWORK_SHUTDOWN_TIMEOUT"`
	GCHeadroom      byteSize      `name:"gc-headroom" help:"How far the heap may grow past what the last garbage collection left live before the next one starts, when that is more than Go's default (a doubling); 0: Go's default. GOGC in the environment overrides it." default:"16MiB" env:"FORMWORK_GC_HEADROOM"`
}

// Validate checks what the flag types alone do not; kong calls it after
// parsing, and its error ends the command before anything starts.
func (p *Process) Validate() error {
	for _, c := range []struct {
		bad  bool
		name string
		msg  string
	}{
		{(p.TLSCert == "") != (p.TLSKey == ""), "FORMWORK_TLS_CERT", "--tls-cert and --tls-key go together"},
		{p.SessionTTL < time.Minute, "FORMWORK_SESSION_TTL", "want a minute or more"},
		{p.LockoutThresh < 1, "FORMWORK_LOCKOUT_THRESHOLD", "want 1 or more"},
		{p.LockoutDuration <= 0, "FORMWORK_LOCKOUT_DURATION", "want a positive duration"},
		{p.BodyLimit < 1024, "FORMWORK_BODY_LIMIT", "want 1KiB or more"},
		{p.UploadLimit < 1024, "FORMWORK_UPLOAD_LIMIT", "want 1KiB or more"},
		{p.UploadFileLimit < 1024 || p.UploadFileLimit > engine.MaxBlobSizeLimit, "FORMWORK_UPLOAD_FILE_LIMIT", "want 1KiB to 256MiB"},
		{p.UploadLimit < p.UploadFileLimit, "FORMWORK_UPLOAD_LIMIT", "want at least FORMWORK_UPLOAD_FILE_LIMIT (a request of one file)"},
		{p.UploadMaxAge <= 0, "FORMWORK_UPLOAD_MAX_AGE", "want a positive duration"},
		{p.BinRetention < 0, "FORMWORK_BIN_RETENTION_DAYS", "want 0 or more days"},
		{p.BackupDaily < 0 || p.BackupWeekly < 0, "FORMWORK_BACKUP_KEEP_DAILY/WEEKLY", "want 0 or more"},
		{p.ShutdownTimeout <= 0, "FORMWORK_SHUTDOWN_TIMEOUT", "want a positive duration"},
		{p.GCHeadroom < 0, "FORMWORK_GC_HEADROOM", "want 0 or more"},
	} {
		if c.bad {
			return fmt.Errorf("%s: %s", c.name, c.msg)
		}
	}
	if p.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(p.TLSCert, p.TLSKey); err != nil {
			return fmt.Errorf("FORMWORK_TLS_CERT, FORMWORK_TLS_KEY: %w", err)
		}
	}
	if p.RedisAddr != "" {
		if _, err := queue.ParseRedisAddr(p.RedisAddr); err != nil {
			return fmt.Errorf("%s: %w", envRedisAddr, err)
		}
	}
	return errors.Join(p.WebhookSecret.resolve("FORMWORK_WEBHOOK_SECRET"), p.PprofToken.resolve("FORMWORK_PPROF_TOKEN"))
}

// serverConfig is the HTTP server's configuration from the settings.
func (p *Process) serverConfig() server.Config {
	c := server.DefaultConfig()
	c.BodyLimit, c.UploadLimit = int64(p.BodyLimit), int64(p.UploadLimit)
	c.SessionTTL, c.LockoutThreshold, c.LockoutDuration = p.SessionTTL, p.LockoutThresh, p.LockoutDuration
	c.RateIP, c.RateUser, c.RateLogin, c.RatePublic = server.RateLimit(p.RateIP), server.RateLimit(p.RateUser), server.RateLimit(p.RateLogin), server.RateLimit(p.RatePublic)
	c.BinRetention = p.binRetention()
	c.PublicURL = p.PublicURL
	// served over HTTPS, directly or at an https:// address, every cookie is
	// Secure and pages send HSTS whatever a proxy says
	c.SecureCookies = p.TLSCert != "" || strings.HasPrefix(strings.ToLower(p.PublicURL), "https://")
	c.TrustedProxies = append(c.TrustedProxies, p.TrustedProxies...)
	if p.TrustProxy {
		c.TrustedProxies = append(c.TrustedProxies, server.PrivateRanges()...)
	}
	return c
}

// binRetention is how long records stay in a recycle bin (0: until purged).
func (p *Process) binRetention() time.Duration {
	return time.Duration(p.BinRetention) * 24 * time.Hour
}

// newLogger is the process logger on w, in the format and from the level
// the settings name.
func (g *Globals) newLogger(w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(g.LogLevel)) // the enum admits only valid names; "" is info
	o := &slog.HandlerOptions{Level: level}
	if g.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// getenv answers the key lookups of engine and backup (which take a
// getenv) with the keys the settings resolved, file or variable.
func (g *Globals) getenv(name string) string {
	switch name {
	case engine.EnvMasterKey:
		return g.MasterKeyFile.value
	case backup.EnvKey:
		return g.BackupKeyFile.value
	}
	return ""
}

// Validate reads the secrets the settings name; kong calls it after parsing.
func (g *Globals) Validate() error {
	return errors.Join(g.MasterKeyFile.resolve("FORMWORK_MASTER_KEY"), g.BackupKeyFile.resolve("FORMWORK_BACKUP_KEY"))
}

// zone is the organisation's time zone.
func (g *Globals) zone() *time.Location {
	if g.TimeZone.loc == nil {
		return time.UTC
	}
	return g.TimeZone.loc
}

// secretFile is a secret setting: the path of a file holding it (flag or
// NAME_FILE), or the value itself in the variable NAME (never a flag).
type secretFile struct {
	path  string
	value string // resolved by resolve
}

// UnmarshalText takes the file's path.
func (s *secretFile) UnmarshalText(b []byte) error {
	s.path = string(b)
	return nil
}

// resolve reads the secret from env or the file; both set is an error, so
// a forgotten variable cannot silently win over a mounted secret.
func (s *secretFile) resolve(env string) error {
	v := os.Getenv(env)
	switch {
	case s.path != "" && v != "":
		return fmt.Errorf("%s and %s_FILE are both set; keep one", env, env)
	case s.path != "":
		b, err := os.ReadFile(s.path)
		if err != nil {
			return fmt.Errorf("%s_FILE: %w", env, err)
		}
		s.value = strings.TrimSpace(string(b))
		if s.value == "" {
			return fmt.Errorf("%s_FILE: %s is empty", env, s.path)
		}
	default:
		s.value = v
	}
	return nil
}

// settingError names the variable a bad value came from when kong's error
// names only the flag (its enum checks do): "--log-format must be one of
// ..." gets "(from FORMWORK_LOG_FORMAT)" when that variable is set and the
// flag is not on the command line.
func settingError(err error, args []string) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, "--") || strings.Contains(msg, "FORMWORK_") {
		return err
	}
	flag, _, _ := strings.Cut(msg[2:], " ")
	flag = strings.TrimSuffix(flag, ":")
	for _, a := range args {
		if a == "--"+flag || strings.HasPrefix(a, "--"+flag+"=") {
			return err
		}
	}
	env := "FORMWORK_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
	if _, ok := os.LookupEnv(env); !ok {
		return err
	}
	return fmt.Errorf("%w (from %s)", err, env)
}

// rateLimit is a rate limit setting, "PER_SECOND[:BURST]"; "0" is off.
type rateLimit server.RateLimit

// UnmarshalText parses "50", "50:200" or "0.5:10". A missing burst is one
// second's worth (at least 1).
func (r *rateLimit) UnmarshalText(b []byte) error {
	rate, burst, hasBurst := strings.Cut(string(b), ":")
	ps, err := strconv.ParseFloat(strings.TrimSpace(rate), 64)
	if err != nil || ps < 0 || ps != ps || ps > 1e9 {
		return fmt.Errorf("want PER_SECOND[:BURST] such as 50:200, or 0 for no limit")
	}
	r.PerSecond, r.Burst = ps, max(1, int(ps))
	if ps == 0 {
		r.Burst = 0
		return nil
	}
	if hasBurst {
		n, err := strconv.Atoi(strings.TrimSpace(burst))
		if err != nil || n < 1 {
			return fmt.Errorf("want PER_SECOND[:BURST] with a whole BURST of 1 or more")
		}
		r.Burst = n
	}
	return nil
}

// backupEvery is how often scheduled backups are taken: a duration of a
// minute or more, or "off" (0).
type backupEvery time.Duration

// UnmarshalText parses "24h", "90m" or "off".
func (e *backupEvery) UnmarshalText(b []byte) error {
	if string(b) == "off" {
		*e = 0
		return nil
	}
	d, err := time.ParseDuration(string(b))
	if err != nil || d < time.Minute {
		return fmt.Errorf("want a duration of a minute or more, or off")
	}
	*e = backupEvery(d)
	return nil
}

// byteSize is a size setting: bytes, or a number with KiB, MiB, GiB (KB,
// MB, GB are taken as the same powers of two).
type byteSize int64

// UnmarshalText parses "1048576", "1MiB", "10MB".
func (s *byteSize) UnmarshalText(b []byte) error {
	t := strings.TrimSpace(string(b))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if n, ok := strings.CutSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)); ok {
			t, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return fmt.Errorf("want a size such as 1048576, 512KiB or 10MiB")
	}
	*s = byteSize(n * mult)
	return nil
}

// proxyRanges are trusted proxy ranges: comma-separated CIDRs or single
// addresses.
type proxyRanges []netip.Prefix

// UnmarshalText parses "10.0.0.0/8, 192.0.2.7, fd00::/8".
func (p *proxyRanges) UnmarshalText(b []byte) error {
	*p = nil
	for _, part := range strings.Split(string(b), ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			pf, err := netip.ParsePrefix(part)
			if err != nil {
				return fmt.Errorf("%q is not a CIDR range such as 10.0.0.0/8", part)
			}
			*p = append(*p, pf.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return fmt.Errorf("%q is not an address or a CIDR range", part)
		}
		*p = append(*p, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return nil
}

// timeZone is an IANA time zone name.
type timeZone struct {
	name string
	loc  *time.Location
}

// UnmarshalText loads the zone.
func (z *timeZone) UnmarshalText(b []byte) error {
	loc, err := time.LoadLocation(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a time zone name such as Asia/Shanghai", b)
	}
	z.name, z.loc = string(b), loc
	return nil
}

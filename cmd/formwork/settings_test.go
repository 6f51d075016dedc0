package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/server"
)

// parseArgs parses args as the binary does, with exactly the FORMWORK_*
// variables in env set (the caller's others are unset for the test).
func parseArgs(t *testing.T, env map[string]string, args ...string) (*CLI, error) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "FORMWORK_") {
			t.Setenv(name, "") // restored when the test ends
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	unsetEmptySettings()
	var cli CLI
	_, err := newParser(&cli, kong.Exit(func(int) { t.Fatal("the parser exited") })).Parse(args)
	if err != nil {
		err = settingError(err, args)
	}
	return &cli, err
}

// parseSettings is parseArgs that must succeed.
func parseSettings(t *testing.T, env map[string]string, args ...string) *CLI {
	t.Helper()
	cli, err := parseArgs(t, env, args...)
	if err != nil {
		t.Fatalf("parse %v with %v: %v", args, env, err)
	}
	return cli
}

// setting is one setting as its struct tags declare it.
type setting struct {
	env, flag, def string
	secret         string // the variable holding the value itself, for a *_FILE setting
}

// settings walks the settings types: Globals, the role and Process.
func settings(t *testing.T) []setting {
	t.Helper()
	var out []setting
	role, _ := reflect.TypeOf(ServeCmd{}).FieldByName("Role")
	fields := []reflect.StructField{role}
	for _, typ := range []reflect.Type{reflect.TypeOf(Globals{}), reflect.TypeOf(Process{})} {
		for i := range typ.NumField() {
			fields = append(fields, typ.Field(i))
		}
	}
	for _, f := range fields {
		env := f.Tag.Get("env")
		if env == "" || f.Tag.Get("help") == "" {
			t.Errorf("setting %s lacks an env or help tag", f.Name)
			continue
		}
		flag := f.Tag.Get("name")
		if flag == "" {
			flag = strings.ToLower(regexp.MustCompile(`([a-z])([A-Z])`).ReplaceAllString(f.Name, "$1-$2"))
		}
		out = append(out, setting{env: env, flag: flag, def: f.Tag.Get("default"), secret: f.Tag.Get("secret")})
	}
	return out
}

// TestSettingsNames: every flag is its variable's name in lower case with
// dashes and without FORMWORK_, as SEAMS and README promise.
func TestSettingsNames(t *testing.T) {
	for _, s := range settings(t) {
		if want := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.env, "FORMWORK_")), "_", "-"); s.flag != want {
			t.Errorf("%s: flag --%s, want --%s", s.env, s.flag, want)
		}
	}
}

func TestSettingsPrecedence(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want server.RateLimit
	}{
		{"default", nil, nil, server.RateLimit{PerSecond: 50, Burst: 200}},
		{"environment", map[string]string{"FORMWORK_RATE_IP": "10:40"}, nil, server.RateLimit{PerSecond: 10, Burst: 40}},
		{"flag over environment", map[string]string{"FORMWORK_RATE_IP": "10:40"}, []string{"--rate-ip", "5"}, server.RateLimit{PerSecond: 5, Burst: 5}},
		{"zero turns it off", map[string]string{"FORMWORK_RATE_IP": "0"}, nil, server.RateLimit{}},
		{"zero with a burst is off too", nil, []string{"--rate-ip=0:100"}, server.RateLimit{}},
		{"fraction", nil, []string{"--rate-ip=0.5:3"}, server.RateLimit{PerSecond: 0.5, Burst: 3}},
		{"empty variable is unset", map[string]string{"FORMWORK_RATE_IP": ""}, nil, server.RateLimit{PerSecond: 50, Burst: 200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := parseSettings(t, tc.env, append([]string{"serve"}, tc.args...)...)
			if diff := cmp.Diff(tc.want, cli.Serve.serverConfig().RateIP); diff != "" {
				t.Errorf("RateIP (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("every limit off", func(t *testing.T) {
		c := parseSettings(t, map[string]string{"FORMWORK_RATE_IP": "0", "FORMWORK_RATE_USER": "0", "FORMWORK_RATE_LOGIN": "0", "FORMWORK_RATE_PUBLIC": "0"}, "serve").Serve.serverConfig()
		for _, r := range []server.RateLimit{c.RateIP, c.RateUser, c.RateLogin, c.RatePublic} {
			if r.PerSecond > 0 {
				t.Errorf("a limit stayed on: %+v", r)
			}
		}
	})

	t.Run("server config", func(t *testing.T) {
		dir := t.TempDir()
		cert, key := writeCert(t, dir)
		cli := parseSettings(t, map[string]string{
			"FORMWORK_SESSION_TTL": "2h", "FORMWORK_LOCKOUT_THRESHOLD": "3", "FORMWORK_LOCKOUT_DURATION": "1h",
			"FORMWORK_BODY_LIMIT": "2MiB", "FORMWORK_UPLOAD_LIMIT": "100MB", "FORMWORK_BIN_RETENTION_DAYS": "30",
			"FORMWORK_TRUSTED_PROXIES": "203.0.113.0/24, 2001:db8::1", "FORMWORK_TLS_CERT": cert, "FORMWORK_TLS_KEY": key,
			"FORMWORK_PUBLIC_URL": "https://forms.example.com",
		}, "serve")
		got := cli.Serve.serverConfig()
		want := server.DefaultConfig()
		want.SessionTTL, want.LockoutThreshold, want.LockoutDuration = 2*time.Hour, 3, time.Hour
		want.BodyLimit, want.UploadLimit, want.BinRetention = 2<<20, 100<<20, 30*24*time.Hour
		want.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::1/128")}
		want.SecureCookies, want.PublicURL = true, "https://forms.example.com"
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
			t.Errorf("server.Config (-want +got):\n%s", diff)
		}
	})

	t.Run("trust proxy keeps meaning the private ranges", func(t *testing.T) {
		c := parseSettings(t, map[string]string{"FORMWORK_TRUST_PROXY": "1"}, "serve").Serve.serverConfig()
		if !cmp.Equal(server.PrivateRanges(), c.TrustedProxies, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })) || c.SecureCookies {
			t.Errorf("FORMWORK_TRUST_PROXY=1: ranges %v, secure %v; want the private ranges and no Secure by itself", c.TrustedProxies, c.SecureCookies)
		}
		if c := parseSettings(t, nil, "serve").Serve.serverConfig(); len(c.TrustedProxies) != 0 || c.SecureCookies {
			t.Errorf("defaults: ranges %v, secure %v; want neither", c.TrustedProxies, c.SecureCookies)
		}
	})
}

func TestSettingsSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	key := engine.EncodeMasterKey(make([]byte, engine.MasterKeySize))
	keyFile, secretFile := filepath.Join(dir, "master.key"), filepath.Join(dir, "webhook")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := parseSettings(t, map[string]string{"FORMWORK_MASTER_KEY_FILE": keyFile, "FORMWORK_WEBHOOK_SECRET_FILE": secretFile, "FORMWORK_PPROF_TOKEN": "tok"}, "serve")
	if got := cli.getenv(engine.EnvMasterKey); got != key {
		t.Errorf("master key from the file: %q, want %q", got, key)
	}
	if got := cli.Serve.WebhookSecret.value; got != "s3cret" {
		t.Errorf("webhook secret from the file: %q", got)
	}
	if got := cli.Serve.PprofToken.value; got != "tok" {
		t.Errorf("pprof token from the variable: %q", got)
	}
	cli = parseSettings(t, map[string]string{"FORMWORK_MASTER_KEY": key}, "migrate")
	if got := cli.getenv(engine.EnvMasterKey); got != key {
		t.Errorf("master key from the variable: %q", got)
	}
}

// TestSettingsBadValues: a bad value stops the command before it starts
// with one error line naming the setting.
func TestSettingsBadValues(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"FORMWORK_RATE_IP": "fast"}, nil, "FORMWORK_RATE_IP"},
		{map[string]string{"FORMWORK_RATE_USER": "10:0"}, nil, "FORMWORK_RATE_USER"},
		{map[string]string{"FORMWORK_RATE_LOGIN": "-1"}, nil, "FORMWORK_RATE_LOGIN"},
		{nil, []string{"--rate-public", "1:x"}, "--rate-public"},
		{map[string]string{"FORMWORK_SESSION_TTL": "a day"}, nil, "FORMWORK_SESSION_TTL"},
		{map[string]string{"FORMWORK_SESSION_TTL": "1s"}, nil, "FORMWORK_SESSION_TTL"},
		{map[string]string{"FORMWORK_LOCKOUT_THRESHOLD": "0"}, nil, "FORMWORK_LOCKOUT_THRESHOLD"},
		{map[string]string{"FORMWORK_BODY_LIMIT": "1 lorry"}, nil, "FORMWORK_BODY_LIMIT"},
		{map[string]string{"FORMWORK_UPLOAD_LIMIT": "-5MiB"}, nil, "FORMWORK_UPLOAD_LIMIT"},
		{map[string]string{"FORMWORK_UPLOAD_LIMIT": "5MiB"}, nil, "FORMWORK_UPLOAD_LIMIT"}, // below the 10MiB of one file
		{map[string]string{"FORMWORK_UPLOAD_FILE_LIMIT": "512"}, nil, "FORMWORK_UPLOAD_FILE_LIMIT"},
		{map[string]string{"FORMWORK_UPLOAD_FILE_LIMIT": "1GiB", "FORMWORK_UPLOAD_LIMIT": "2GiB"}, nil, "FORMWORK_UPLOAD_FILE_LIMIT"},
		{map[string]string{"FORMWORK_TRUSTED_PROXIES": "10.0.0.0/8,the proxy"}, nil, "FORMWORK_TRUSTED_PROXIES"},
		{map[string]string{"FORMWORK_TRUST_PROXY": "yes please"}, nil, "FORMWORK_TRUST_PROXY"},
		{map[string]string{"FORMWORK_TLS_CERT": filepath.Join(dir, "c.pem")}, nil, "FORMWORK_TLS_CERT"},
		{map[string]string{"FORMWORK_TLS_CERT": filepath.Join(dir, "c.pem"), "FORMWORK_TLS_KEY": filepath.Join(dir, "k.pem")}, nil, "FORMWORK_TLS_CERT"},
		{map[string]string{"FORMWORK_LOG_FORMAT": "xml"}, nil, "FORMWORK_LOG_FORMAT"},
		{map[string]string{"FORMWORK_LOG_LEVEL": "loud"}, nil, "FORMWORK_LOG_LEVEL"},
		{map[string]string{"FORMWORK_TIME_ZONE": "Mars/Olympus"}, nil, "FORMWORK_TIME_ZONE"},
		{map[string]string{"FORMWORK_ROLE": "both"}, nil, "FORMWORK_ROLE"},
		{map[string]string{"FORMWORK_MONGO_TRANSACTIONS": "maybe"}, nil, "FORMWORK_MONGO_TRANSACTIONS"},
		{map[string]string{"FORMWORK_MASTER_KEY_FILE": filepath.Join(dir, "missing")}, nil, "FORMWORK_MASTER_KEY_FILE"},
		{map[string]string{"FORMWORK_MASTER_KEY_FILE": filepath.Join(dir, "missing"), "FORMWORK_MASTER_KEY": "x"}, nil, "FORMWORK_MASTER_KEY"},
		{map[string]string{"FORMWORK_WEBHOOK_SECRET_FILE": filepath.Join(dir, "missing")}, nil, "FORMWORK_WEBHOOK_SECRET_FILE"},
		{map[string]string{"FORMWORK_BACKUP_EVERY": "30s"}, nil, "FORMWORK_BACKUP_EVERY"},
		{map[string]string{"FORMWORK_BIN_RETENTION_DAYS": "-1"}, nil, "FORMWORK_BIN_RETENTION_DAYS"},
		{map[string]string{"FORMWORK_SHUTDOWN_TIMEOUT": "0s"}, nil, "FORMWORK_SHUTDOWN_TIMEOUT"},
		{map[string]string{"FORMWORK_REDIS_ADDR": "redis://h:1/notadb"}, nil, "FORMWORK_REDIS_ADDR"},
	} {
		name := tc.want
		t.Run(name, func(t *testing.T) {
			_, err := parseArgs(t, tc.env, append([]string{"serve"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v; want one line naming %s", err, tc.want)
			}
		})
	}

	// the binary: exit non-zero with that one line, before touching the data
	data := filepath.Join(dir, "data")
	out, code := runEnv(t, append(cleanEnv(), "FORMWORK_RATE_USER=lots"), data, "", "serve", "--addr", "127.0.0.1:0")
	if code == 0 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "FORMWORK_RATE_USER") {
		t.Errorf("exit %d, output %q; want non-zero and one line naming FORMWORK_RATE_USER", code, out)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("a refused start created the data directory: %v", err)
	}
}

// TestServeHelpListsEverySetting: `formwork serve --help` names every
// setting's flag, variable and default.
func TestServeHelpListsEverySetting(t *testing.T) {
	out, code := run(t, t.TempDir(), "", "serve", "--help")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	help := strings.Join(strings.Fields(out), " ") // the help wraps lines
	for _, s := range settings(t) {
		if !strings.Contains(help, "--"+s.flag) || !strings.Contains(help, "$"+s.env) {
			t.Errorf("serve --help lacks --%s ($%s)", s.flag, s.env)
		}
		if s.def != "" && !strings.Contains(help, "--"+s.flag+"="+s.def) && !strings.Contains(help, "--"+s.flag+"=\""+s.def+"\"") {
			t.Errorf("serve --help lacks the default of --%s (%s)", s.flag, s.def)
		}
		if s.secret != "" && !strings.Contains(help, s.secret) {
			t.Errorf("serve --help does not name %s", s.secret)
		}
	}
}

// TestREADMEListsEverySetting: README's settings table has one row per
// setting with its variable, flag and default, and no row for a setting
// that does not exist.
func TestREADMEListsEverySetting(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{} // variable → cells
	row := regexp.MustCompile("^\\| `(FORMWORK_[A-Z0-9_]+)`")
	for _, line := range strings.Split(string(b), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			rows[m[1]] = strings.Split(line, "|")
		}
	}
	known := map[string]bool{}
	for _, s := range settings(t) {
		known[s.env] = true
		cells, ok := rows[s.env]
		if !ok {
			t.Errorf("README's settings table has no row for %s", s.env)
			continue
		}
		if len(cells) < 5 || !strings.Contains(cells[2], "`--"+s.flag+"`") {
			t.Errorf("README row of %s does not name --%s in its second column: %q", s.env, s.flag, strings.Join(cells, "|"))
			continue
		}
		wantDef := "`" + s.def + "`"
		if s.def == "" {
			wantDef = "—"
		}
		if strings.TrimSpace(cells[3]) != wantDef {
			t.Errorf("README default of %s: %q, want %s", s.env, strings.TrimSpace(cells[3]), wantDef)
		}
		if s.secret != "" && !strings.Contains(cells[4], "`"+s.secret+"`") {
			t.Errorf("README row of %s does not name %s", s.env, s.secret)
		}
	}
	for env := range rows {
		if !known[env] {
			t.Errorf("README's settings table lists %s, which is no setting", env)
		}
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "formwork test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestServeTLS: with a certificate and key the server answers HTTPS
// itself, its cookies are Secure and its pages send HSTS.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	addr := freeAddr(t)
	p := startProc(t, append(cleanEnv(), "FORMWORK_TLS_CERT="+cert, "FORMWORK_TLS_KEY="+key, "FORMWORK_BACKUP_EVERY=off"), "listening",
		"--data", filepath.Join(dir, "data"), "serve", "--addr", addr)
	if !strings.Contains(p.log(), "https://"+addr) {
		t.Errorf("the log does not give the https address:\n%s", p.log())
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addr + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("GET /login over TLS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	if len(resp.Cookies()) == 0 {
		t.Error("the login page set no cookie")
	}
	for _, ck := range resp.Cookies() {
		if !ck.Secure {
			t.Errorf("cookie %s is not Secure over TLS", ck.Name)
		}
	}
	p.term(t, 20*time.Second)
}

// TestRateLimitsOffBySetting: with the per-address, per-user and login
// limits set to 0 (as the peer benchmark runs), a burst of 1000 quick API
// requests from 8 clients gets no 429; with the defaults the same burst
// does, so it is the settings that turned them off.
func TestRateLimitsOffBySetting(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test: skipped under -short")
	}
	const password = "a long and fine password"
	data := seedData(t, password)
	for _, tc := range []struct {
		name     string
		env      []string
		want429s bool
	}{
		{"limits off", []string{"FORMWORK_RATE_IP=0", "FORMWORK_RATE_USER=0", "FORMWORK_RATE_LOGIN=0"}, false},
		{"defaults", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			p := startServe(t, data, addr, append(append(cleanEnv(), "FORMWORK_BACKUP_EVERY=off"), tc.env...))
			token := login(t, "http://"+addr, "admin@example.com", password).token
			var tooMany, other atomic.Int32
			var wg sync.WaitGroup
			client := &http.Client{Timeout: 30 * time.Second}
			for c := 0; c < 8; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 125; i++ {
						req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/apps", nil)
						req.Header.Set("Authorization", "Bearer "+token)
						resp, err := client.Do(req)
						if err != nil {
							other.Add(1)
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						switch resp.StatusCode {
						case http.StatusOK:
						case http.StatusTooManyRequests:
							tooMany.Add(1)
						default:
							other.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			t.Logf("%s: %d of 1000 answered 429, %d failed otherwise", tc.name, tooMany.Load(), other.Load())
			if other.Load() != 0 {
				t.Errorf("%d requests failed with another status or error", other.Load())
			}
			if got := tooMany.Load() > 0; got != tc.want429s {
				t.Errorf("%d answered 429; want some: %v", tooMany.Load(), tc.want429s)
			}
			p.stop(t)
		})
	}
}

// TestServeTrustedProxies: X-Forwarded-Proto https makes cookies Secure
// and pages send HSTS only when the connection comes from a range in
// FORMWORK_TRUSTED_PROXIES (the test connects from loopback).
func TestServeTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		ranges string
		secure bool
	}{
		{"127.0.0.1", true},
		{"10.0.0.0/8, 192.168.0.0/16", false},
	} {
		t.Run(tc.ranges, func(t *testing.T) {
			addr := freeAddr(t)
			p := startProc(t, append(cleanEnv(), "FORMWORK_TRUSTED_PROXIES="+tc.ranges, "FORMWORK_BACKUP_EVERY=off"), "listening",
				"--data", filepath.Join(t.TempDir(), "data"), "serve", "--addr", addr)
			req, _ := http.NewRequest("GET", "http://"+addr+"/login", nil)
			req.Header.Set("X-Forwarded-Proto", "https")
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Strict-Transport-Security") != ""; got != tc.secure {
				t.Errorf("HSTS sent: %v, want %v", got, tc.secure)
			}
			if len(resp.Cookies()) == 0 {
				t.Fatal("the login page set no cookie")
			}
			for _, ck := range resp.Cookies() {
				if ck.Secure != tc.secure {
					t.Errorf("cookie %s Secure=%v, want %v", ck.Name, ck.Secure, tc.secure)
				}
			}
			p.term(t, 20*time.Second)
		})
	}
}

// TestLogFormatAndLevel: json lines at the level set and above.
func TestLogFormatAndLevel(t *testing.T) {
	cli := parseSettings(t, map[string]string{"FORMWORK_LOG_FORMAT": "json", "FORMWORK_LOG_LEVEL": "warn"}, "serve")
	var buf strings.Builder
	log := cli.newLogger(&buf)
	log.Info("quiet")
	log.Warn("loud", "n", 1)
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(buf.String())), &line); err != nil || line["msg"] != "loud" || line["level"] != "WARN" {
		t.Errorf("log %q (%v); want one JSON line for the warning only", buf.String(), err)
	}
}

package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"
)

// ctxRequestID is where a request's id is kept in the echo context.
const ctxRequestID = "request_id"

// requestIDPattern is what an id from a trusted proxy may look like.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestID gives every request an id: the X-Request-Id a trusted proxy
// sent (Config.TrustedProxies), else a new one.
// It is answered in X-Request-Id, named in every log line of the request
// and in problem+json bodies, so a user's report finds its log lines.
func (s *server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !s.fromTrustedProxy(c) || !requestIDPattern.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// requestIDOf is the request's id ("" outside a request).
func requestIDOf(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// fromTrustedProxy reports whether the connection comes from one of the
// trusted proxies' ranges, the same ones the client address is taken
// from X-Forwarded-For for (clientIP).
func (s *server) fromTrustedProxy(c echo.Context) bool {
	if len(s.cfg.TrustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(c.Request().RemoteAddr)
	if err != nil {
		return false
	}
	peer := ap.Addr().Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}

// clientIP takes the client address from X-Forwarded-For when the
// connection comes from one of trusted (walking the header from the right
// past the trusted proxies, as echo does), else it is the peer's address.
func clientIP(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// PrivateRanges are the loopback, private and link-local ranges, IPv4 and
// IPv6: where a proxy on the same machine or network connects from.
func PrivateRanges() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "169.254.0.0/16", "fe80::/10"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// accessLog writes one structured line per request once it is answered:
// its id, method, route and path, status, time taken, client address and
// user (static files are left out).
func (s *server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // answer now, so the status logged is the one sent
		}
		r := c.Request()
		if len(r.URL.Path) >= 8 && r.URL.Path[:8] == "/static/" {
			return nil
		}
		s.metrics.observe(c, time.Since(start))
		user := ""
		if a := authOf(c); a != nil {
			user = a.user.ID
		}
		// typed attributes: Info's key-value pairs box each value, eight allocations a request
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("request_id", requestIDOf(c)), slog.String("method", r.Method),
			slog.String("route", c.Path()), slog.String("path", r.URL.Path), slog.Int("status", c.Response().Status),
			slog.Float64("ms", float64(time.Since(start).Microseconds())/1000), slog.String("ip", c.RealIP()), slog.String("user", user))
		return nil
	}
}

package server

import (
	"crypto/rand"
	"encoding/hex"
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
// sent (TrustProxy, from a loopback or private address), else a new one.
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

// fromTrustedProxy reports whether proxies are trusted and the connection
// comes from one: a loopback, private or link-local address, as echo's
// X-Forwarded-For extractor trusts.
func (s *server) fromTrustedProxy(c echo.Context) bool {
	if !s.cfg.TrustProxy {
		return false
	}
	ap, err := netip.ParseAddrPort(c.Request().RemoteAddr)
	if err != nil {
		return false
	}
	peer := ap.Addr().Unmap()
	return peer.IsLoopback() || peer.IsPrivate() || peer.IsLinkLocalUnicast()
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
		s.log.Info("request", "request_id", requestIDOf(c), "method", r.Method, "route", c.Path(), "path", r.URL.Path,
			"status", c.Response().Status, "ms", float64(time.Since(start).Microseconds())/1000, "ip", c.RealIP(), "user", user)
		return nil
	}
}

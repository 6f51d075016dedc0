package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// headAsGet answers HEAD as the GET of the same path without its body
// (RFC 9110 §9.3.2): echo routes only the methods bound, and a link
// checker or a proxy probing /login should not read 405. It runs before
// the router, which reads the method of the request it was handed, so the
// method is changed in place; the writer drops the body whatever server
// carries the response.
func headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodHead {
			return next(c)
		}
		r.Method = http.MethodGet
		c.Response().Writer = bodyless{c.Response().Writer}
		// net/http reads the method when it ends the response: as GET, a
		// declared Content-Length with no body written would close the
		// connection.
		defer func() { r.Method = http.MethodHead }()
		return next(c)
	}
}

// bodyless is a ResponseWriter that keeps the status and headers and
// drops the body.
type bodyless struct{ http.ResponseWriter }

func (b bodyless) Write(p []byte) (int, error) { return len(p), nil }

// Flush keeps a streaming handler's flushes harmless.
func (b bodyless) Flush() {
	if f, ok := b.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

package server

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// bindPublicRoutes binds public form links: the API and page where
// administrators and the app's designers make, show and revoke a form's
// link, and the anonymous pages under /f/TOKEN (no account; submissions
// rate limited per address).
func (s *server) bindPublicRoutes(e *echo.Echo, user, page []echo.MiddlewareFunc) {
	const link = "/api/v1/apps/:app/forms/:form/public-link"
	e.POST(link, s.createPublicLink, user...)
	e.GET(link, s.getPublicLink, user...)
	e.DELETE(link, s.revokePublicLink, user...)

	const admin = "/apps/:app/forms/:form/public-link"
	e.GET(admin, s.publicLinkPage, page...)
	e.POST(admin, s.makePublicLinkPage, page...)
	e.POST(admin+"/revoke", s.revokePublicLinkPage, page...)

	e.GET("/f/:token", s.publicFormPage)
	e.POST("/f/:token", s.publicSubmitPage)
	e.POST("/f/:token/preview", s.publicPreviewPage)
	e.GET("/f/:token/thanks", s.publicThanksPage)
}

// publicLinkOut is a form's public link in the API: its address, the QR
// code of it (a PNG as a data: URL) and the records' unit and owner.
type publicLinkOut struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	QR        string    `json:"qr"`
	Unit      string    `json:"unit"`
	Owner     string    `json:"owner"`
	Sensitive []string  `json:"sensitive"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// publicURL is the address of a link's anonymous page.
func (s *server) publicURL(c echo.Context, token string) string {
	base := strings.TrimRight(s.cfg.PublicURL, "/")
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	return base + "/f/" + url.PathEscape(token)
}

func (s *server) linkOut(c echo.Context, l *engine.PublicLink) (*publicLinkOut, error) {
	u := s.publicURL(c, l.Token)
	qr, err := qrDataURL(u)
	if err != nil {
		return nil, err
	}
	return &publicLinkOut{ID: l.ID, URL: u, QR: qr, Unit: l.Unit, Owner: l.Owner, Sensitive: l.Sensitive, CreatedAt: l.CreatedAt, CreatedBy: l.CreatedBy}, nil
}

// createPublicLink makes (or replaces) a form's public link:
// {"unit"?, "owner"?, "sensitive"?} → 201 {"url", "qr", …}. An empty body
// takes the defaults (the caller, in their unit, no sensitive field).
func (s *server) createPublicLink(c echo.Context) error {
	var in engine.PublicLinkInput
	b, err := readJSONBody(c.Request())
	if err != nil && !(engine.ErrorCode(err) == engine.EUNSUPPORTED && c.Request().ContentLength == 0) {
		return err
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := decodeBody(b, s.cfg.MaxDepth, &in); err != nil {
			return err
		}
	}
	l, err := s.svc.CreatePublicLink(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"), in)
	if err != nil {
		return err
	}
	out, err := s.linkOut(c, l)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

// getPublicLink answers a form's public link, 404 when it has none.
func (s *server) getPublicLink(c echo.Context) error {
	l, err := s.svc.PublicLink(c.Request().Context(), principal(c), c.Param("app"), c.Param("form"))
	if err != nil {
		return err
	}
	out, err := s.linkOut(c, l)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// revokePublicLink deletes a form's public link: 204, then its address is 404.
func (s *server) revokePublicLink(c echo.Context) error {
	if err := s.svc.RevokePublicLink(c.Request().Context(), principal(c), c.Param("app"), c.Param("form")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

package server

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openapiDoc is the hand-written OpenAPI 3.1 description of the API;
// TestOpenAPIMatchesRoutes keeps it and the routes in step.
//
//go:embed openapi.json
var openapiDoc []byte

func (s *server) openapi(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", openapiDoc)
}

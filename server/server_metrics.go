package server

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the HTTP server's Prometheus metrics: requests by route,
// method and status, and their latency by route.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// newHTTPMetrics registers the HTTP metrics on reg (nil: none are kept).
func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	if reg == nil {
		return nil
	}
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "formwork_http_requests_total",
			Help: "HTTP requests answered, by route, method and status."}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "formwork_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route.", Buckets: prometheus.DefBuckets}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// observe counts one answered request; the route is the pattern (never the
// path, whose ids would make a series per record), "" for no route.
func (m *httpMetrics) observe(c echo.Context, took time.Duration) {
	if m == nil {
		return
	}
	route := c.Path()
	if route == "" {
		route = "none"
	}
	m.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(c.Response().Status)).Inc()
	m.latency.WithLabelValues(route).Observe(took.Seconds())
}

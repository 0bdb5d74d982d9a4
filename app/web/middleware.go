package web

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzhttp"
	"github.com/labstack/echo/v4"
)

const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if s.Config.Production() {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		return next(c)
	}
}

// observe logs every request (path without query: webhook verification carries a
// token in it) and feeds the latency histogram by route.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		d := time.Since(start)
		status := c.Response().Status
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		s.Metrics.HTTPDuration.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Observe(d.Seconds())
		if strings.HasPrefix(route, "/static") || route == "/healthz" || route == "/metrics" {
			return nil
		}
		lvl := slog.LevelInfo
		if !s.Config.Production() {
			// In development (make run) the terminal keeps the logins and what matters
			// in sight: one line per request only with LOG_LEVEL=debug.
			lvl = slog.LevelDebug
		}
		switch {
		case status >= 500:
			lvl = slog.LevelError
		case d > time.Second && route != "/events":
			lvl = slog.LevelWarn
		}
		s.Logger.Log(c.Request().Context(), lvl, "request",
			"method", c.Request().Method, "route", route, "path", c.Request().URL.Path,
			"status", status, "duration_ms", float64(d.Microseconds())/1000, "ip", c.RealIP())
		return nil
	}
}

// compress gzips answers for clients that accept it, except where skip says so, with
// klauspost/compress at level 1: most of the size win for a fraction of the CPU
// (the standard library's level 1 took a fifth of a busy board's CPU; this one takes
// about half of that). Answers under 1 KB and already compressed types go as they are.
func compress(skip func(c echo.Context) bool) echo.MiddlewareFunc {
	wrap, err := gzhttp.NewWrapper(gzhttp.CompressionLevel(1), gzhttp.EnableZstd(false))
	if err != nil {
		panic(err) // fixed options
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}
			res := c.Response()
			plain := res.Writer
			defer func() { res.Writer = plain }()
			wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				res.Writer = w
				c.SetRequest(r)
				if err := next(c); err != nil {
					c.Error(err) // written compressed, before the compressor closes
				}
			})).ServeHTTP(plain, c.Request())
			return nil
		}
	}
}

package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/db"
)

// healthz answers as long as the process is up.
func (s *Server) healthz(c echo.Context) error { return c.String(http.StatusOK, "ok") }

// readyz answers 200 when the database is reachable and fully migrated.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.Pool.Ping(ctx); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
	}
	n, err := db.Pending(ctx, s.DB.SQL)
	if err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "cannot read migration state"})
	}
	if n > 0 {
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": "migrations pending: run atiende migrate", "pending": n})
	}
	if s.Ready != nil {
		if err := s.Ready(ctx); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

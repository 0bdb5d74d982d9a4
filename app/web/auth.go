package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/live"
)

const ctxViewer = "viewer"

// viewer returns the signed-in user; only valid behind requireLogin or requireToken.
func viewer(c echo.Context) accounts.Viewer {
	v, _ := c.Get(ctxViewer).(accounts.Viewer)
	return v
}

// bumpAfterWrite tells the live hub that the viewer's workspace changed after every
// unsafe request (the heartbeat aside), so that this process's board cache never answers the same person
// with what was there before their own click (other processes hear of it through
// the change's notification).
func (s *Server) bumpAfterWrite(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		switch {
		case c.Request().Method == http.MethodGet, c.Request().Method == http.MethodHead:
		case c.Path() == "/me/heartbeat": // every open board, every 30 s; a presence it changes is announced
		case c.Path() == "/conversations/:id/viewing", c.Path() == "/compose/preview": // nothing stored
		default:
			if v := viewer(c); v.Workspace.ID != 0 {
				s.Hub.Bump(v.Workspace.ID)
			}
		}
		return err
	}
}

// loadViewer is Accounts.LoadViewer for page requests, kept in the cache while the
// user's workspace is unchanged: a role, teams or deactivation changed through this
// process applies to the user's very next request. Sessions from before the
// workspace was kept in them are loaded once without the cache, and learn it.
func (s *Server) loadViewer(ctx context.Context, userID, workspaceID int64) (accounts.Viewer, error) {
	if workspaceID == 0 {
		v, err := s.Accounts.LoadViewer(ctx, userID)
		if err == nil {
			s.Sessions.Put(ctx, sessionWorkspaceID, v.Workspace.ID)
		}
		return v, err
	}
	// The viewer (role, teams, presence, workspace) does not change with conversations:
	// kept while messages arrive (live.GetSettings).
	return live.GetSettings(ctx, s.cache, workspaceID, fmt.Sprintf("viewer|u%d", userID), func(ctx context.Context) (accounts.Viewer, error) {
		return s.Accounts.LoadViewer(ctx, userID)
	})
}

// requireLogin sends strangers to /login?next=… and loads the viewer for everyone else.
func (s *Server) requireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		id := s.Sessions.GetInt64(ctx, sessionUserID)
		if id != 0 {
			v, err := s.loadViewer(ctx, id, s.Sessions.GetInt64(ctx, sessionWorkspaceID))
			if err == nil && v.User.SessionEpoch != s.Sessions.GetInt64(ctx, sessionEpoch) {
				// The password changed (or was reset) after this session signed in.
				err = apperr.ErrNotFound
			}
			switch {
			case err == nil:
				c.Set(ctxViewer, v)
				c.SetRequest(c.Request().WithContext(audit.WithActor(ctx, audit.Actor{UserID: v.User.ID, IP: c.RealIP(), Source: audit.SourceWeb})))
				if v.Workspace.RequireTwoFactor && !v.User.TwoFactorEnabled && !enrolPath(c.Request().URL.Path) {
					return s.sendToEnrol(c)
				}
				return next(c)
			case errors.Is(err, apperr.ErrNotFound): // deactivated, deleted, or signed out by a password change
				_ = s.Sessions.Destroy(ctx)
			default:
				return err
			}
		}
		target := "/login"
		if c.Request().Method == http.MethodGet && c.Request().URL.Path != "/" {
			target += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
		}
		if c.Request().Header.Get("HX-Request") == "true" {
			c.Response().Header().Set("HX-Redirect", target)
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}

// requireRole lets through only the given roles.
func requireRole(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := viewer(c).User.Role
			for _, want := range roles {
				if r == want {
					return next(c)
				}
			}
			return apperr.ErrForbidden
		}
	}
}

// requireToken authenticates JSON API calls with "Authorization: Bearer TOKEN".
func (s *Server) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			return apiError(http.StatusUnauthorized, "unauthorized", "Falta el encabezado Authorization: Bearer TOKEN")
		}
		ctx := c.Request().Context()
		uid, err := s.Accounts.UserForToken(ctx, strings.TrimSpace(token))
		if err != nil {
			if errors.Is(err, apperr.ErrNotFound) {
				return apiError(http.StatusUnauthorized, "unauthorized", "El token no es válido o fue revocado")
			}
			return err
		}
		v, err := s.Accounts.LoadViewer(ctx, uid)
		if err != nil {
			if errors.Is(err, apperr.ErrNotFound) {
				return apiError(http.StatusUnauthorized, "unauthorized", "El usuario del token está desactivado")
			}
			return err
		}
		c.Set(ctxViewer, v)
		c.SetRequest(c.Request().WithContext(audit.WithActor(ctx, audit.Actor{UserID: v.User.ID, IP: c.RealIP(), Source: audit.SourceAPI})))
		s.apiActivity(c, v) // every API call counts as activity (api_presence.go)
		return next(c)
	}
}

// enrolPath reports the pages a user must still reach while their workspace requires
// two-factor sign-in and they have not enrolled: the security screen and signing out.
func enrolPath(p string) bool {
	return p == "/settings/security" || strings.HasPrefix(p, "/settings/security/") || p == "/logout"
}

// sendToEnrol redirects to the security screen (whole page for htmx requests).
func (s *Server) sendToEnrol(c echo.Context) error {
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", "/settings/security")
		return c.NoContent(http.StatusForbidden)
	}
	if c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead {
		return echo.NewHTTPError(http.StatusForbidden, "Tu espacio de trabajo exige la verificación en dos pasos. Actívala en Configuración → Seguridad para continuar.")
	}
	return c.Redirect(http.StatusSeeOther, "/settings/security")
}

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/board"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/board"
	}
	return next
}

package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/static"
	"github.com/atiende/atiende/views/layout"
	"github.com/atiende/atiende/views/pages/auth"
)

func (s *Server) loginPage(c echo.Context, status int, p auth.LoginProps) error {
	p.CSRFToken = s.csrfToken(c)
	g := layout.Globals{Title: "Iniciar sesión", CSRFToken: p.CSRFToken, AssetVersion: static.Version}
	return s.renderBare(c, status, g, auth.Login(p))
}

func (s *Server) loginForm(c echo.Context) error {
	if s.Sessions.GetInt64(c.Request().Context(), sessionUserID) != 0 {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return s.loginPage(c, http.StatusOK, auth.LoginProps{Next: c.QueryParam("next")})
}

func (s *Server) login(c echo.Context) error {
	ctx := c.Request().Context()
	email, password, next := c.FormValue("email"), c.FormValue("password"), c.FormValue("next")
	u, err := s.Accounts.Authenticate(ctx, email, password, c.RealIP())
	switch {
	case errors.Is(err, accounts.ErrThrottled):
		return s.loginPage(c, http.StatusTooManyRequests, auth.LoginProps{Email: email, Next: next,
			Error: "Demasiados intentos fallidos. Por seguridad, espera 15 minutos antes de volver a intentarlo o pide a un administrador que restablezca tu contraseña."})
	case errors.Is(err, accounts.ErrInvalidCredentials):
		return s.loginPage(c, http.StatusUnauthorized, auth.LoginProps{Email: email, Next: next, Error: "Correo o contraseña incorrectos"})
	case err != nil:
		return err
	}
	// A new session token on every privilege change defeats session fixation.
	if err := s.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.Sessions.Put(ctx, sessionUserID, u.ID)
	s.Sessions.Put(ctx, sessionWorkspaceID, u.WorkspaceID)
	s.Sessions.Put(ctx, sessionSeen, s.Clock.Now().Unix())
	s.Sessions.Put(ctx, sessionCSRF, randomToken())
	uid := u.ID
	if err := s.Accounts.Audit(ctx, u.WorkspaceID, &uid, "login", "user", &uid, c.RealIP()); err != nil {
		return err
	}
	// Signing in shows the agent online on every open board.
	if err := s.Inbox.SetPresence(ctx, accounts.Viewer{User: u, Workspace: models.Workspace{ID: u.WorkspaceID}}, models.PresenceOnline); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, safeNext(next))
}

func (s *Server) logout(c echo.Context) error {
	ctx := c.Request().Context()
	if id := s.Sessions.GetInt64(ctx, sessionUserID); id != 0 {
		v, err := s.Accounts.LoadViewer(ctx, id)
		if err == nil {
			err = s.Inbox.SetPresence(ctx, v, models.PresenceOffline)
		}
		if err != nil && !errors.Is(err, apperr.ErrNotFound) {
			return err
		}
	}
	if err := s.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.Sessions.Remove(ctx, sessionUserID)
	s.Sessions.Remove(ctx, sessionWorkspaceID)
	s.Sessions.Put(ctx, sessionCSRF, randomToken())
	return c.Redirect(http.StatusSeeOther, "/login")
}

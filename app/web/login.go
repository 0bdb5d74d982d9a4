package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/static"
	"github.com/atiende/atiende/views/layout"
	"github.com/atiende/atiende/views/pages/auth"
)

// A password accepted for a user with two-factor sign-in leaves the session half
// signed in: it knows who is signing in, not yet signed in, for pendingTTL.
const (
	sessionPendingUser = "pending_user_id"
	sessionPendingAt   = "pending_at"
	sessionPendingNext = "pending_next"
	pendingTTL         = 5 * time.Minute
)

const throttledMsg = "Demasiados intentos fallidos. Por seguridad, espera 15 minutos antes de volver a intentarlo o pide a un administrador que restablezca tu contraseña."

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
	ctx = audit.WithActor(ctx, audit.Actor{IP: c.RealIP(), Source: audit.SourceWeb})
	u, err := s.Accounts.Authenticate(ctx, email, password, c.RealIP())
	switch {
	case errors.Is(err, accounts.ErrThrottled):
		return s.loginPage(c, http.StatusTooManyRequests, auth.LoginProps{Email: email, Next: next, Error: throttledMsg})
	case errors.Is(err, accounts.ErrInvalidCredentials):
		return s.loginPage(c, http.StatusUnauthorized, auth.LoginProps{Email: email, Next: next, Error: "Correo o contraseña incorrectos"})
	case err != nil:
		return err
	}
	if u.TwoFactorEnabled {
		// Half signed in: a new token (no fixation), no user yet.
		if err := s.Sessions.RenewToken(ctx); err != nil {
			return err
		}
		s.Sessions.Remove(ctx, sessionUserID)
		s.Sessions.Put(ctx, sessionPendingUser, u.ID)
		s.Sessions.Put(ctx, sessionPendingAt, s.Clock.Now().Unix())
		s.Sessions.Put(ctx, sessionPendingNext, next)
		return c.Redirect(http.StatusSeeOther, "/login/2fa")
	}
	return s.completeSignIn(c, ctx, u, "", next)
}

// completeSignIn turns the session into u's, records the sign-in and shows u online.
func (s *Server) completeSignIn(c echo.Context, ctx context.Context, u models.User, secondFactor, next string) error {
	// A new session token on every privilege change defeats session fixation.
	if err := s.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.Sessions.Remove(ctx, sessionPendingUser)
	s.Sessions.Remove(ctx, sessionPendingAt)
	s.Sessions.Remove(ctx, sessionPendingNext)
	s.Sessions.Put(ctx, sessionUserID, u.ID)
	s.Sessions.Put(ctx, sessionWorkspaceID, u.WorkspaceID)
	s.Sessions.Put(ctx, sessionEpoch, u.SessionEpoch)
	s.Sessions.Put(ctx, sessionSeen, s.Clock.Now().Unix())
	s.Sessions.Put(ctx, sessionCSRF, randomToken())
	if err := s.Accounts.SignedIn(ctx, u, secondFactor, c.RealIP()); err != nil {
		return err
	}
	// Signing in shows the agent online on every open board.
	if err := s.Inbox.SetPresence(ctx, accounts.Viewer{User: u, Workspace: models.Workspace{ID: u.WorkspaceID}}, models.PresenceOnline); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, safeNext(next))
}

// pendingUser is the user half signed in on this session (after their password,
// before their code); ok is false when there is none or it is too old.
func (s *Server) pendingUser(c echo.Context) (models.User, bool, error) {
	ctx := c.Request().Context()
	id := s.Sessions.GetInt64(ctx, sessionPendingUser)
	at := s.Sessions.GetInt64(ctx, sessionPendingAt)
	if id == 0 || s.Clock.Now().Sub(time.Unix(at, 0)) > pendingTTL {
		return models.User{}, false, nil
	}
	v, err := s.Accounts.LoadViewer(ctx, id)
	if errors.Is(err, apperr.ErrNotFound) {
		return models.User{}, false, nil
	}
	if err != nil {
		return models.User{}, false, err
	}
	return v.User, v.User.TwoFactorEnabled, nil
}

func (s *Server) twoFactorPage(c echo.Context, status int, msg string) error {
	p := auth.TwoFactorProps{CSRFToken: s.csrfToken(c), Error: msg}
	g := layout.Globals{Title: "Verificación en dos pasos", CSRFToken: p.CSRFToken, AssetVersion: static.Version}
	return s.renderBare(c, status, g, auth.TwoFactor(p))
}

func (s *Server) loginTwoFactorForm(c echo.Context) error {
	_, ok, err := s.pendingUser(c)
	if err != nil {
		return err
	}
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return s.twoFactorPage(c, http.StatusOK, "")
}

func (s *Server) loginTwoFactor(c echo.Context) error {
	u, ok, err := s.pendingUser(c)
	if err != nil {
		return err
	}
	if !ok {
		return s.loginPage(c, http.StatusUnauthorized, auth.LoginProps{Error: "Pasaron más de 5 minutos desde que escribiste tu contraseña. Vuelve a iniciar sesión."})
	}
	ctx := audit.WithActor(c.Request().Context(), audit.Actor{IP: c.RealIP(), Source: audit.SourceWeb})
	method, err := s.Accounts.VerifySecondFactor(ctx, u, c.FormValue("code"), c.RealIP())
	switch {
	case errors.Is(err, accounts.ErrThrottled):
		return s.twoFactorPage(c, http.StatusTooManyRequests, throttledMsg)
	case errors.Is(err, accounts.ErrWrongCode):
		return s.twoFactorPage(c, http.StatusUnauthorized, "El código no es correcto o ya se usó. Escribe el que muestra tu aplicación ahora, o uno de tus códigos de recuperación.")
	case err != nil:
		return err
	}
	return s.completeSignIn(c, ctx, u, method, s.Sessions.GetString(ctx, sessionPendingNext))
}

func (s *Server) logout(c echo.Context) error {
	ctx := c.Request().Context()
	if id := s.Sessions.GetInt64(ctx, sessionUserID); id != 0 {
		v, err := s.Accounts.LoadViewer(ctx, id)
		if err == nil {
			err = s.Inbox.SetPresence(ctx, v, models.PresenceOffline)
		}
		if err == nil {
			err = s.Accounts.SignedOut(audit.WithActor(ctx, audit.Actor{UserID: id, IP: c.RealIP(), Source: audit.SourceWeb}), v.User, c.RealIP())
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
	s.Sessions.Remove(ctx, sessionPendingUser)
	s.Sessions.Put(ctx, sessionCSRF, randomToken())
	return c.Redirect(http.StatusSeeOther, "/login")
}

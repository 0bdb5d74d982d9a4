package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image/png"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/views/pages/settings"
)

// Seguridad (Configuración → Seguridad): every user changes their password and
// manages their two-factor sign-in; admins can require it of the whole workspace.

func (s *Server) securityPage(c echo.Context, status int, p settings.SecurityPage) error {
	ctx := c.Request().Context()
	v := viewer(c)
	st, err := s.Accounts.TwoFactor(ctx, v.Workspace.ID, v.User.ID)
	if err != nil {
		return err
	}
	p.Enabled, p.RecoveryLeft, p.EnabledAt = st.Enabled, st.RecoveryLeft, st.EnabledAt
	p.Email = v.User.Email
	p.IsAdmin = v.IsAdmin()
	p.RequireAll = v.Workspace.RequireTwoFactor
	p.MustEnrol = v.Workspace.RequireTwoFactor && !st.Enabled
	p.Loc = workspaceLocation(v.Workspace.Timezone)
	if !st.Enabled && p.RecoveryCodes == nil {
		e, err := s.Accounts.BeginTwoFactor(ctx, v.User)
		if err != nil {
			return err
		}
		key, err := e.Key()
		if err != nil {
			return err
		}
		img, err := key.Image(240, 240)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return err
		}
		p.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
		p.Secret = e.Secret
	}
	if p.IsAdmin {
		if err := s.DB.Gorm.WithContext(ctx).Raw(`SELECT count(*) FROM users WHERE workspace_id = ? AND active AND NOT two_factor_enabled`,
			v.Workspace.ID).Scan(&p.UsersWithout).Error; err != nil {
			return err
		}
	}
	p.CSRFToken = s.csrfToken(c)
	c.Response().Header().Set("Cache-Control", "no-store") // the secret and recovery codes
	g := s.globals(c, "Seguridad", "settings")
	return s.render(c, status, g, settings.ShellFor(v.IsAdmin(), "security", settings.Security(p)))
}

func (s *Server) securityShow(c echo.Context) error {
	return s.securityPage(c, http.StatusOK, settings.SecurityPage{})
}

// asValidation returns err's field errors, or nil when err is something else.
func asValidation(err error) apperr.Validation {
	var v apperr.Validation
	if errors.As(err, &v) {
		return v
	}
	return nil
}

func (s *Server) securityPassword(c echo.Context) error {
	ctx := c.Request().Context()
	v := viewer(c)
	u, err := s.Accounts.ChangeOwnPassword(ctx, v.Workspace.ID, v.User.ID, c.FormValue("current_password"), c.FormValue("new_password"))
	if verr := asValidation(err); verr != nil {
		return s.securityPage(c, http.StatusUnprocessableEntity, settings.SecurityPage{PasswordErrors: verr})
	}
	if err != nil {
		return err
	}
	// This session stays signed in, under a new token; every other one has ended.
	if err := s.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.Sessions.Put(ctx, sessionEpoch, u.SessionEpoch)
	s.flash(c, "Contraseña cambiada. Cerramos tus otras sesiones y revocamos tus tokens de API.")
	return seeOther(c, "/settings/security")
}

func (s *Server) securityConfirm(c echo.Context) error {
	v := viewer(c)
	codes, err := s.Accounts.ConfirmTwoFactor(c.Request().Context(), v.User, c.FormValue("code"), c.RealIP())
	switch {
	case errors.Is(err, accounts.ErrThrottled):
		return s.securityPage(c, http.StatusTooManyRequests, settings.SecurityPage{CodeErrors: map[string]string{"code": throttledMsg}})
	case errors.Is(err, accounts.ErrWrongCode):
		return s.securityPage(c, http.StatusUnprocessableEntity, settings.SecurityPage{CodeErrors: map[string]string{
			"code": "El código no coincide. Revisa que la hora de tu teléfono sea la correcta y escribe el código que aparece ahora."}})
	case errors.Is(err, accounts.ErrTwoFactorOff):
		return s.securityPage(c, http.StatusUnprocessableEntity, settings.SecurityPage{CodeErrors: map[string]string{
			"code": "No hay una activación en curso: pulsa «Activar» para ver el código QR y luego escribe el código de tu aplicación."}})
	case asValidation(err) != nil:
		return s.securityPage(c, http.StatusUnprocessableEntity, settings.SecurityPage{CodeErrors: asValidation(err)})
	case err != nil:
		return err
	}
	c.Set(ctxViewer, s.refreshViewer(c))
	return s.securityPage(c, http.StatusCreated, settings.SecurityPage{RecoveryCodes: codes, JustEnabled: true})
}

func (s *Server) securityRecovery(c echo.Context) error {
	v := viewer(c)
	codes, err := s.Accounts.RegenerateRecoveryCodes(c.Request().Context(), v.User, c.FormValue("password"))
	if verr := asValidation(err); verr != nil {
		return s.securityPage(c, http.StatusUnprocessableEntity, settings.SecurityPage{RecoveryErrors: verr})
	}
	if err != nil {
		return err
	}
	return s.securityPage(c, http.StatusCreated, settings.SecurityPage{RecoveryCodes: codes})
}

func (s *Server) securityDisable(c echo.Context) error {
	v := viewer(c)
	err := s.Accounts.DisableTwoFactor(c.Request().Context(), v.User, c.FormValue("password"))
	if verr := asValidation(err); verr != nil {
		return s.securityPage(c, http.StatusUnprocessableEntity, settings.SecurityPage{DisableErrors: verr})
	}
	if err != nil {
		return err
	}
	s.flash(c, "Verificación en dos pasos desactivada. Ahora basta tu contraseña para entrar.")
	return seeOther(c, "/settings/security")
}

func (s *Server) securityRequire(c echo.Context) error {
	v := viewer(c)
	err := s.Accounts.SetRequireTwoFactor(c.Request().Context(), v, c.FormValue("require") == "1")
	if verr := asValidation(err); verr != nil {
		return s.securityPage(c, http.StatusUnprocessableEntity, settings.SecurityPage{RequireErrors: verr})
	}
	if err != nil {
		return err
	}
	if c.FormValue("require") == "1" {
		s.flash(c, "Listo: quien no tenga la verificación en dos pasos deberá activarla para seguir usando Atiende.")
	} else {
		s.flash(c, "La verificación en dos pasos ya no es obligatoria.")
	}
	return seeOther(c, "/settings/security")
}

// refreshViewer reloads the signed-in user after a change to themselves.
func (s *Server) refreshViewer(c echo.Context) any {
	v := viewer(c)
	nv, err := s.Accounts.LoadViewer(c.Request().Context(), v.User.ID)
	if err != nil {
		return v
	}
	return nv
}

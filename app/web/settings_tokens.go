package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/views/pages/settings"
)

// API tokens (Configuración → Tokens de API): every signed-in user manages their own.
// A new token is shown once, in the response to the POST that created it; it is never
// stored in clear (not even in the session), so it cannot be shown again.

func (s *Server) tokensPage(c echo.Context, status int, p settings.TokensPage) error {
	v := viewer(c)
	list, err := s.Accounts.APITokens(c.Request().Context(), v.Workspace.ID, v.User.ID)
	if err != nil {
		return err
	}
	p.Rows = make([]settings.TokenRow, len(list))
	for i, t := range list {
		p.Rows[i] = settings.TokenRow{ID: t.ID, Name: t.Name, Prefix: t.TokenPrefix, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt}
	}
	p.CSRFToken = s.csrfToken(c)
	p.APIBase = c.Scheme() + "://" + c.Request().Host + "/api/v1"
	p.Now = s.Clock.Now()
	p.Loc = workspaceLocation(v.Workspace.Timezone)
	g := s.globals(c, "Tokens de API", "settings")
	return s.render(c, status, g, settings.ShellFor(v.IsAdmin(), "tokens", settings.Tokens(p)))
}

func (s *Server) tokensList(c echo.Context) error {
	return s.tokensPage(c, http.StatusOK, settings.TokensPage{})
}

func (s *Server) tokenCreate(c echo.Context) error {
	v := viewer(c)
	name := c.FormValue("name")
	token, t, err := s.Accounts.IssueAPIToken(c.Request().Context(), v.User, name)
	var verr apperr.Validation
	switch {
	case err == nil:
		// No redirect: the clear token exists only in this response. Keep it out of caches.
		c.Response().Header().Set("Cache-Control", "no-store")
		return s.tokensPage(c, http.StatusCreated, settings.TokensPage{NewToken: token, NewName: t.Name})
	case errors.As(err, &verr):
		return s.tokensPage(c, http.StatusUnprocessableEntity, settings.TokensPage{Name: name, Errors: verr})
	}
	return err
}

func (s *Server) tokenDelete(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	v := viewer(c)
	t, err := s.Accounts.RevokeAPIToken(c.Request().Context(), v.Workspace.ID, v.User.ID, id)
	if err != nil {
		return err
	}
	s.flash(c, "Token revocado: "+t.Name+". Ya no sirve para entrar a la API.")
	return seeOther(c, "/settings/tokens")
}

// workspaceLocation loads the workspace's time zone (UTC when it is unknown).
func workspaceLocation(tz string) *time.Location {
	if loc, err := time.LoadLocation(tz); err == nil {
		return loc
	}
	return time.UTC
}

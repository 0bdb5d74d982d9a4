package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/views/pages/settings"
)

func (s *Server) teamsPage(c echo.Context, status int, f settings.TeamForm) error {
	rows, err := s.Accounts.ListTeams(c.Request().Context(), viewer(c).Workspace.ID)
	if err != nil {
		return err
	}
	out := make([]settings.TeamRow, len(rows))
	for i, t := range rows {
		out[i] = settings.TeamRow{ID: t.ID, Name: t.Name, Color: t.Color, RoutingMode: t.RoutingMode, Members: t.Members}
	}
	f.CSRFToken = s.csrfToken(c)
	return s.render(c, status, s.globals(c, "Equipos", "settings"), settings.Shell("teams", settings.Teams(out, f)))
}

func (s *Server) teamsList(c echo.Context) error {
	return s.teamsPage(c, http.StatusOK, settings.TeamForm{Color: "#2563eb", RoutingMode: "manual"})
}

func teamInput(c echo.Context) accounts.TeamInput {
	return accounts.TeamInput{Name: c.FormValue("name"), Color: c.FormValue("color"), RoutingMode: c.FormValue("routing_mode")}
}

func (s *Server) teamCreate(c echo.Context) error {
	in := teamInput(c)
	t, err := s.Accounts.CreateTeam(c.Request().Context(), viewer(c).Workspace.ID, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Equipo creado: "+t.Name)
		return seeOther(c, "/settings/teams")
	case errors.As(err, &verr):
		return s.teamsPage(c, http.StatusUnprocessableEntity, settings.TeamForm{Name: in.Name, Color: in.Color, RoutingMode: in.RoutingMode, Errors: verr})
	}
	return err
}

func (s *Server) teamEdit(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	t, err := s.Accounts.GetTeam(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	f := settings.TeamForm{ID: t.ID, Name: t.Name, Color: t.Color, RoutingMode: t.RoutingMode, CSRFToken: s.csrfToken(c)}
	return s.render(c, http.StatusOK, s.globals(c, "Editar equipo", "settings"), settings.Shell("teams", settings.TeamEdit(f)))
}

func (s *Server) teamUpdate(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	in := teamInput(c)
	t, err := s.Accounts.UpdateTeam(c.Request().Context(), viewer(c).Workspace.ID, id, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Cambios guardados: "+t.Name)
		return seeOther(c, "/settings/teams")
	case errors.As(err, &verr):
		f := settings.TeamForm{ID: id, Name: in.Name, Color: in.Color, RoutingMode: in.RoutingMode, Errors: verr, CSRFToken: s.csrfToken(c)}
		return s.render(c, http.StatusUnprocessableEntity, s.globals(c, "Editar equipo", "settings"), settings.Shell("teams", settings.TeamEdit(f)))
	}
	return err
}

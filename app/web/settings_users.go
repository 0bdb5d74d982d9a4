package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/views/pages/settings"
)

func (s *Server) usersList(c echo.Context) error {
	v := viewer(c)
	rows, err := s.Accounts.ListUsers(c.Request().Context(), v.Workspace.ID)
	if err != nil {
		return err
	}
	out := make([]settings.UserRow, len(rows))
	for i, u := range rows {
		out[i] = settings.UserRow{ID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role, Teams: u.TeamNames,
			MaxConcurrent: u.MaxConcurrent, Active: u.Active, Presence: u.Presence, Initials: Initials(u.Name)}
	}
	return s.render(c, http.StatusOK, s.globals(c, "Usuarios", "settings"), settings.Shell("users", settings.Users(out)))
}

func (s *Server) userFormPage(c echo.Context, status int, f settings.UserForm, selected []int64) error {
	teams, err := s.Accounts.ListTeams(c.Request().Context(), viewer(c).Workspace.ID)
	if err != nil {
		return err
	}
	sel := map[int64]bool{}
	for _, id := range selected {
		sel[id] = true
	}
	for _, t := range teams {
		f.Teams = append(f.Teams, settings.TeamOption{ID: t.ID, Name: t.Name, Selected: sel[t.ID]})
	}
	if f.Calendars, err = s.calendarChoices(c.Request().Context(), viewer(c).Workspace.ID); err != nil {
		return err
	}
	f.CSRFToken = s.csrfToken(c)
	title := "Nuevo usuario"
	if f.ID != 0 {
		title = "Editar usuario"
	}
	return s.render(c, status, s.globals(c, title, "settings"), settings.Shell("users", settings.UserEdit(f)))
}

func (s *Server) userNew(c echo.Context) error {
	return s.userFormPage(c, http.StatusOK, settings.UserForm{Role: "agent", MaxConcurrent: 10, Active: true}, nil)
}

// userInput parses the user form.
func userInput(c echo.Context) (accounts.UserInput, error) {
	in := accounts.UserInput{Email: c.FormValue("email"), Name: c.FormValue("name"), Role: c.FormValue("role"),
		Password: c.FormValue("password"), Active: c.FormValue("active") == "1", TeamIDs: []int64{},
		ScheduleCalendarID: formID(c, "schedule_calendar_id")}
	// Unparseable numbers become out-of-range values, so the domain validation reports
	// them together with every other field's error.
	if mc := c.FormValue("max_concurrent"); mc != "" {
		n, err := strconv.Atoi(mc)
		if err != nil {
			n = -1
		}
		in.MaxConcurrent = n
	}
	form, err := c.FormParams()
	if err != nil {
		return in, err
	}
	for _, t := range form["teams"] {
		id, _ := strconv.ParseInt(t, 10, 64)
		in.TeamIDs = append(in.TeamIDs, id)
	}
	return in, nil
}

func (s *Server) userCreate(c echo.Context) error {
	v := viewer(c)
	in, err := userInput(c)
	if err == nil {
		var u models.User
		u, err = s.Accounts.CreateUser(c.Request().Context(), v.Workspace.ID, in)
		if err == nil {
			s.flash(c, "Usuario creado: "+u.Name)
			return seeOther(c, "/settings/users")
		}
	}
	var verr apperr.Validation
	if !errors.As(err, &verr) {
		return err
	}
	f := settings.UserForm{Name: in.Name, Email: in.Email, Role: in.Role, MaxConcurrent: in.MaxConcurrent, Active: true, Errors: verr,
		ScheduleID: idOr0(in.ScheduleCalendarID)}
	return s.userFormPage(c, http.StatusUnprocessableEntity, f, in.TeamIDs)
}

func (s *Server) userEdit(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	u, err := s.Accounts.GetUser(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	f := settings.UserForm{ID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role, MaxConcurrent: u.MaxConcurrent, Active: u.Active,
		TwoFactor: u.TwoFactorEnabled, ScheduleID: idOr0(u.ScheduleCalendarID)}
	return s.userFormPage(c, http.StatusOK, f, u.TeamIDs)
}

// userResetTwoFactor removes a user's two-factor sign-in (admins).
func (s *Server) userResetTwoFactor(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	err = s.Accounts.ResetTwoFactor(c.Request().Context(), viewer(c), id)
	var verr apperr.Validation
	switch {
	case errors.As(err, &verr):
		s.flash(c, verr[""])
	case err != nil:
		return err
	default:
		s.flash(c, "Verificación en dos pasos quitada. Ya puede entrar solo con su contraseña.")
	}
	return seeOther(c, fmt.Sprintf("/settings/users/%d", id))
}

func (s *Server) userUpdate(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	v := viewer(c)
	if _, err := s.Accounts.GetUser(c.Request().Context(), v.Workspace.ID, id); err != nil {
		return err
	}
	in, err := userInput(c)
	if err == nil {
		var u models.User
		u, err = s.Accounts.UpdateUser(c.Request().Context(), v.Workspace.ID, id, in)
		if err == nil {
			if u.ID == v.User.ID && in.Password != "" {
				// An admin who resets their own password keeps this session (the others end).
				if err := s.Sessions.RenewToken(c.Request().Context()); err != nil {
					return err
				}
				s.Sessions.Put(c.Request().Context(), sessionEpoch, u.SessionEpoch)
			}
			if in.Password != "" {
				s.flash(c, "Cambios guardados: "+u.Name+". La contraseña nueva cerró sus otras sesiones y revocó sus tokens de API.")
			} else {
				s.flash(c, "Cambios guardados: "+u.Name)
			}
			return seeOther(c, "/settings/users")
		}
	}
	var verr apperr.Validation
	if !errors.As(err, &verr) {
		return err
	}
	f := settings.UserForm{ID: id, Name: in.Name, Email: in.Email, Role: in.Role, MaxConcurrent: in.MaxConcurrent, Active: in.Active, Errors: verr,
		ScheduleID: idOr0(in.ScheduleCalendarID)}
	return s.userFormPage(c, http.StatusUnprocessableEntity, f, in.TeamIDs)
}

// paramID parses the :id path parameter; a malformed id is a 404 like a missing one.
func paramID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.ErrNotFound
	}
	return id, nil
}

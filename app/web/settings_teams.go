package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/views/pages/settings"
)

func (s *Server) teamsPage(c echo.Context, status int, f settings.TeamForm) error {
	ctx := c.Request().Context()
	wsID := viewer(c).Workspace.ID
	rows, err := s.Accounts.ListTeams(ctx, wsID)
	if err != nil {
		return err
	}
	cals, err := s.calendarChoices(ctx, wsID)
	if err != nil {
		return err
	}
	calName := map[string]string{}
	for _, ch := range cals {
		calName[ch.Value] = ch.Label
	}
	out := make([]settings.TeamRow, len(rows))
	for i, t := range rows {
		out[i] = settings.TeamRow{ID: t.ID, Name: t.Name, Color: t.Color, RoutingMode: t.RoutingMode, Members: t.Members, Sticky: t.Sticky}
		if t.CalendarID != nil {
			out[i].Calendar = calName[strconv.FormatInt(*t.CalendarID, 10)]
		}
	}
	if err := s.teamChoices(ctx, wsID, &f); err != nil {
		return err
	}
	f.CSRFToken = s.csrfToken(c)
	return s.render(c, status, s.globals(c, "Equipos", "settings"), settings.Shell("teams", settings.Teams(out, f)))
}

// teamChoices fills the team form's selects: calendars and SLA policies.
func (s *Server) teamChoices(ctx context.Context, wsID int64, f *settings.TeamForm) error {
	var err error
	if f.Calendars, err = s.calendarChoices(ctx, wsID); err != nil {
		return err
	}
	var pols []models.SLAPolicy
	if err := s.DB.Gorm.WithContext(ctx).Where("workspace_id = ?", wsID).Order("lower(name)").Find(&pols).Error; err != nil {
		return err
	}
	for _, p := range pols {
		f.SLAPolicies = append(f.SLAPolicies, settings.Choice{Value: strconv.FormatInt(p.ID, 10), Label: p.Name})
	}
	return nil
}

// calendarChoices are the workspace's calendars for a select.
func (s *Server) calendarChoices(ctx context.Context, wsID int64) ([]settings.Choice, error) {
	var cals []models.Calendar
	if err := s.DB.Gorm.WithContext(ctx).Select("id", "name", "timezone").Where("workspace_id = ?", wsID).Order("lower(name)").Find(&cals).Error; err != nil {
		return nil, err
	}
	out := make([]settings.Choice, len(cals))
	for i, k := range cals {
		out[i] = settings.Choice{Value: strconv.FormatInt(k.ID, 10), Label: k.Name}
	}
	return out, nil
}

func (s *Server) teamsList(c echo.Context) error {
	return s.teamsPage(c, http.StatusOK, settings.TeamForm{Color: "#2563eb", RoutingMode: "manual", Sticky: true, OfflineGrace: 10})
}

// formInt parses an optional whole number; anything else is -1, so the domain's range
// check reports it with the field's message.
func formInt(c echo.Context, name string) int {
	v := strings.TrimSpace(c.FormValue(name))
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

// formID parses an optional id select ("" or junk: nil).
func formID(c echo.Context, name string) *int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(c.FormValue(name)), 10, 64)
	if err != nil || n <= 0 {
		return nil
	}
	return &n
}

func idOr0(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func teamInput(c echo.Context) accounts.TeamInput {
	return accounts.TeamInput{Name: c.FormValue("name"), Color: c.FormValue("color"), RoutingMode: c.FormValue("routing_mode"),
		Routing: &accounts.TeamRouting{
			Sticky:                 c.FormValue("sticky") == "1",
			OfflineGraceMinutes:    formInt(c, "offline_grace"),
			UnansweredLimitMinutes: formInt(c, "unanswered_limit"),
			CalendarID:             formID(c, "calendar_id"),
			SLAPolicyID:            formID(c, "sla_policy_id"),
			AwayMessage:            c.FormValue("away_message"),
		}}
}

// teamForm is the form as submitted, shown again with its errors.
func teamForm(c echo.Context, id int64, in accounts.TeamInput, errs apperr.Validation) settings.TeamForm {
	r := in.Routing
	return settings.TeamForm{ID: id, Name: in.Name, Color: in.Color, RoutingMode: in.RoutingMode, Sticky: r.Sticky,
		OfflineGrace: r.OfflineGraceMinutes, UnansweredLimit: strings.TrimSpace(c.FormValue("unanswered_limit")),
		CalendarID: idOr0(r.CalendarID), SLAPolicyID: idOr0(r.SLAPolicyID), AwayMessage: r.AwayMessage, Errors: errs}
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
		return s.teamsPage(c, http.StatusUnprocessableEntity, teamForm(c, 0, in, verr))
	}
	return err
}

func (s *Server) teamEditPage(c echo.Context, status int, f settings.TeamForm) error {
	if err := s.teamChoices(c.Request().Context(), viewer(c).Workspace.ID, &f); err != nil {
		return err
	}
	f.CSRFToken = s.csrfToken(c)
	return s.render(c, status, s.globals(c, "Editar equipo", "settings"), settings.Shell("teams", settings.TeamEdit(f)))
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
	f := settings.TeamForm{ID: t.ID, Name: t.Name, Color: t.Color, RoutingMode: t.RoutingMode, Sticky: t.Sticky,
		OfflineGrace: t.OfflineGraceSeconds / 60, CalendarID: idOr0(t.CalendarID), SLAPolicyID: idOr0(t.SLAPolicyID), AwayMessage: t.AwayMessage}
	if t.UnansweredLimitSeconds != nil {
		f.UnansweredLimit = strconv.Itoa(*t.UnansweredLimitSeconds / 60)
	}
	return s.teamEditPage(c, http.StatusOK, f)
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
		return s.teamEditPage(c, http.StatusUnprocessableEntity, teamForm(c, id, in, verr))
	}
	return err
}

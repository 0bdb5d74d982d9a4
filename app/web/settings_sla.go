package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/sla"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/views/pages/settings"
)

// SLA policies (Configuración → SLA): targets per team, audited. Assigning a policy to
// a team is done on the team's form.

func (s *Server) slaPolicies() *sla.Policies {
	return &sla.Policies{DB: s.DB.Gorm, Changed: s.Inbox.InvalidateSLA}
}

func slaTargetText(secs *int) string {
	if secs == nil {
		return "—"
	}
	return sla.TargetText(*secs)
}

func (s *Server) slaPage(c echo.Context, status int, f settings.SLAForm) error {
	ctx := c.Request().Context()
	ws := viewer(c).Workspace.ID
	list, err := s.slaPolicies().List(ctx, ws)
	if err != nil {
		return err
	}
	rows := make([]settings.SLARow, len(list))
	for i, p := range list {
		rows[i] = settings.SLARow{ID: p.ID, Name: p.Name, FirstResponse: slaTargetText(p.FirstResponseSeconds),
			NextResponse: slaTargetText(p.NextResponseSeconds), Resolution: slaTargetText(p.ResolutionSeconds),
			BusinessHours: p.BusinessHours, WarningPercent: p.WarningPercent, Teams: p.Teams}
		if p.ID == f.ID {
			f.Teams = p.Teams
		}
	}
	if f.WarningPercent == "" {
		f.WarningPercent = "80"
	}
	f.CSRFToken = s.csrfToken(c)
	return s.render(c, status, s.globals(c, "SLA", "settings"), settings.Shell("sla", settings.SLA(rows, f)))
}

func slaInput(c echo.Context) sla.PolicyInput {
	t := func(name string) sla.TargetInput {
		return sla.TargetInput{Value: c.FormValue(name), Unit: c.FormValue(name + "_unit")}
	}
	return sla.PolicyInput{Name: c.FormValue("name"), FirstResponse: t("first_response"), NextResponse: t("next_response"),
		Resolution: t("resolution"), BusinessHours: c.FormValue("business_hours") == "1", WarningPercent: c.FormValue("warning_percent")}
}

func slaFormOf(id int64, in sla.PolicyInput, errs map[string]string) settings.SLAForm {
	return settings.SLAForm{ID: id, Name: in.Name, FirstResponse: in.FirstResponse, NextResponse: in.NextResponse,
		Resolution: in.Resolution, BusinessHours: in.BusinessHours, WarningPercent: in.WarningPercent, Errors: errs}
}

func (s *Server) slaList(c echo.Context) error {
	return s.slaPage(c, http.StatusOK, settings.SLAForm{BusinessHours: true, FirstResponse: sla.TargetInput{Unit: "min"},
		NextResponse: sla.TargetInput{Unit: "min"}, Resolution: sla.TargetInput{Unit: "h"}})
}

func (s *Server) slaCreate(c echo.Context) error {
	in := slaInput(c)
	p, err := s.slaPolicies().Create(c.Request().Context(), viewer(c).Workspace.ID, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Política de SLA creada: "+p.Name+". Asígnala a un equipo en Configuración → Equipos.")
		return seeOther(c, "/settings/sla")
	case errors.As(err, &verr):
		return s.slaPage(c, http.StatusUnprocessableEntity, slaFormOf(0, in, verr))
	}
	return err
}

func (s *Server) slaEdit(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	p, err := s.slaPolicies().Get(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	return s.slaPage(c, http.StatusOK, policyForm(p))
}

func policyForm(p models.SLAPolicy) settings.SLAForm {
	return settings.SLAForm{ID: p.ID, Name: p.Name, FirstResponse: sla.TargetFields(p.FirstResponseSeconds),
		NextResponse: sla.TargetFields(p.NextResponseSeconds), Resolution: sla.TargetFields(p.ResolutionSeconds),
		BusinessHours: p.BusinessHours, WarningPercent: strconv.Itoa(p.WarningPercent)}
}

func (s *Server) slaUpdate(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	in := slaInput(c)
	p, err := s.slaPolicies().Update(c.Request().Context(), viewer(c).Workspace.ID, id, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Política de SLA guardada: "+p.Name)
		return seeOther(c, "/settings/sla")
	case errors.As(err, &verr):
		return s.slaPage(c, http.StatusUnprocessableEntity, slaFormOf(id, in, verr))
	}
	return err
}

func (s *Server) slaDelete(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	p, err := s.slaPolicies().Delete(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	s.flash(c, "Política de SLA eliminada: "+p.Name)
	return seeOther(c, "/settings/sla")
}

package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/app/setup"
	"github.com/atiende/atiende/views/pages/settings"
)

// Horarios (Configuración → Horarios): business calendars with several intervals a
// day, holidays and a time zone, and a preview of the next openings.

func weekdayChoices() []settings.Choice {
	out := make([]settings.Choice, len(setup.Weekdays))
	for i, d := range setup.Weekdays {
		out[i] = settings.Choice{Value: d.Key, Label: d.Label}
	}
	return out
}

func calendarInput(c echo.Context) setup.CalendarInput {
	in := setup.CalendarInput{Name: c.FormValue("name"), Timezone: c.FormValue("timezone"), Holidays: c.FormValue("holidays"), Days: map[string]string{}}
	for _, d := range setup.Weekdays {
		in.Days[d.Key] = c.FormValue("day_" + d.Key)
	}
	return in
}

// calendarPreview is the next three openings of in after now, in Spanish.
func (s *Server) calendarPreview(in setup.CalendarInput) settings.CalendarPreview {
	now := s.Clock.Now()
	opens, openNow, errs := setup.PreviewCalendar(in, now, 3)
	p := settings.CalendarPreview{OpenNow: openNow, Invalid: len(errs) > 0, Timezone: in.Timezone}
	if loc, err := time.LoadLocation(in.Timezone); err == nil {
		for _, o := range opens {
			p.Openings = append(p.Openings, upperFirst(calendar.OpeningES(o, loc)))
		}
	}
	return p
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

func (s *Server) calendarForm(c echo.Context, id int64, in setup.CalendarInput, errs apperr.Validation) settings.CalendarForm {
	return settings.CalendarForm{ID: id, Name: in.Name, Timezone: in.Timezone, Days: in.Days, Holidays: in.Holidays, Zones: setup.TimeZones,
		Weekdays: weekdayChoices(), Preview: s.calendarPreview(in), Errors: errs, CSRFToken: s.csrfToken(c)}
}

// calendarSummary says a calendar's week briefly: "Lun–Vie 09:00–13:00, 14:00–18:00 · Sáb 09:00–13:00 · 2 feriados".
func calendarSummary(in setup.CalendarInput) string {
	var parts []string
	short := map[string]string{"mon": "Lun", "tue": "Mar", "wed": "Mié", "thu": "Jue", "fri": "Vie", "sat": "Sáb", "sun": "Dom"}
	for i := 0; i < len(setup.Weekdays); {
		d := setup.Weekdays[i]
		h := in.Days[d.Key]
		j := i
		for j+1 < len(setup.Weekdays) && in.Days[setup.Weekdays[j+1].Key] == h {
			j++
		}
		if h != "" {
			label := short[d.Key]
			if j > i {
				label += "–" + short[setup.Weekdays[j].Key]
			}
			parts = append(parts, label+" "+h)
		}
		i = j + 1
	}
	if n := len(strings.Fields(in.Holidays)); n > 0 {
		if n == 1 {
			parts = append(parts, "1 feriado")
		} else {
			parts = append(parts, strconv.Itoa(n)+" feriados")
		}
	}
	if len(parts) == 0 {
		return "Siempre cerrado"
	}
	return strings.Join(parts, " · ")
}

func (s *Server) calendarsPage(c echo.Context, status int, f settings.CalendarForm) error {
	ctx := c.Request().Context()
	rows, err := s.setup().Calendars(ctx, viewer(c).Workspace.ID)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	out := make([]settings.CalendarRow, len(rows))
	for i, r := range rows {
		in := setup.CalendarForm(r.Calendar)
		row := settings.CalendarRow{ID: r.ID, Name: r.Name, Timezone: r.Timezone, Summary: calendarSummary(in), Teams: r.Teams, Agents: r.Agents}
		if cal, err := calendar.FromModel(r.Calendar); err == nil {
			if cal.IsOpen(now) {
				row.Next = "Abierto ahora"
			} else if o := cal.NextOpening(now); !o.IsZero() {
				row.Next = "Abre el " + calendar.OpeningES(o, cal.Loc)
			}
		}
		out[i] = row
	}
	return s.render(c, status, s.globals(c, "Horarios", "settings"), settings.Shell("calendars", settings.Calendars(out, f)))
}

func (s *Server) calendarsList(c echo.Context) error {
	in := setup.CalendarInput{Timezone: viewer(c).Workspace.Timezone, Days: map[string]string{}}
	if in.Timezone == "" {
		in.Timezone = "America/Lima"
	}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		in.Days[d] = "09:00–13:00, 14:00–18:00"
	}
	return s.calendarsPage(c, http.StatusOK, s.calendarForm(c, 0, in, nil))
}

// calendarPreviewPart answers the form's live preview.
func (s *Server) calendarPreviewPart(c echo.Context) error {
	return renderComponent(c, http.StatusOK, settings.CalendarPreviewBox(s.calendarPreview(calendarInput(c))))
}

func (s *Server) calendarCreate(c echo.Context) error {
	in := calendarInput(c)
	k, err := s.setup().SaveCalendar(c.Request().Context(), viewer(c).Workspace.ID, 0, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Horario creado: "+k.Name+". Asígnalo a un equipo en Equipos o a un agente en Usuarios.")
		return seeOther(c, "/settings/calendars")
	case errors.As(err, &verr):
		return s.calendarsPage(c, http.StatusUnprocessableEntity, s.calendarForm(c, 0, in, verr))
	}
	return err
}

func (s *Server) calendarEditPage(c echo.Context, status int, f settings.CalendarForm) error {
	return s.render(c, status, s.globals(c, "Editar horario", "settings"), settings.Shell("calendars", settings.CalendarEdit(f)))
}

func (s *Server) calendarEdit(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	k, err := s.setup().GetCalendar(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	return s.calendarEditPage(c, http.StatusOK, s.calendarForm(c, id, setup.CalendarForm(k), nil))
}

func (s *Server) calendarUpdate(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	in := calendarInput(c)
	k, err := s.setup().SaveCalendar(c.Request().Context(), viewer(c).Workspace.ID, id, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Cambios guardados: "+k.Name)
		return seeOther(c, "/settings/calendars")
	case errors.As(err, &verr):
		return s.calendarEditPage(c, http.StatusUnprocessableEntity, s.calendarForm(c, id, in, verr))
	}
	return err
}

func (s *Server) calendarDelete(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	k, err := s.setup().DeleteCalendar(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	s.flash(c, "Horario eliminado: "+k.Name)
	return seeOther(c, "/settings/calendars")
}

package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/reports"
	"github.com/atiende/atiende/models"
	reportsview "github.com/atiende/atiende/views/pages/reports"
)

// Date range presets of the reports page (workspace time zone).
var reportPresets = []reportsview.Option{
	{Value: "hoy", Label: "Hoy"}, {Value: "7d", Label: "7 días"}, {Value: "30d", Label: "30 días"},
	{Value: "mes", Label: "Este mes"}, {Value: "mes_pasado", Label: "Mes pasado"}, {Value: "custom", Label: "Personalizado"},
}

// reportQuery reads the page's filters: preset or custom dates, team (name), agent
// (email) and channel (id). The query keeps a supervisor to their teams.
func (s *Server) reportQuery(c echo.Context) (reports.Query, reportsview.Filters, error) {
	v := viewer(c)
	loc := v.Workspace.Location()
	today := s.Clock.Now().In(loc)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	f := reportsview.Filters{Preset: c.QueryParam("rango"), From: strings.TrimSpace(c.QueryParam("desde")),
		To: strings.TrimSpace(c.QueryParam("hasta")), Team: strings.TrimSpace(c.QueryParam("equipo")),
		Agent: strings.TrimSpace(c.QueryParam("agente")), Channel: strings.TrimSpace(c.QueryParam("canal")),
		Business: c.QueryParam("horas") == "laborales", SortAgents: c.QueryParam("orden_agentes"), SortTeams: c.QueryParam("orden_equipos")}
	day := func(t time.Time) string { return t.Format("2006-01-02") }
	if f.Preset == "" {
		f.Preset = "7d"
		if f.From != "" || f.To != "" {
			f.Preset = "custom"
		}
	}
	switch f.Preset {
	case "hoy":
		f.From, f.To = day(today), day(today)
	case "30d":
		f.From, f.To = day(today.AddDate(0, 0, -29)), day(today)
	case "mes":
		f.From, f.To = day(today.AddDate(0, 0, 1-today.Day())), day(today)
	case "mes_pasado":
		first := today.AddDate(0, 0, 1-today.Day())
		f.From, f.To = day(first.AddDate(0, -1, 0)), day(first.AddDate(0, 0, -1))
	case "custom":
		if f.To == "" {
			f.To = day(today)
		}
		if f.From == "" {
			f.From = f.To
		}
	default:
		f.Preset = "7d"
		f.From, f.To = day(today.AddDate(0, 0, -6)), day(today)
	}
	q := reports.Query{WorkspaceID: v.Workspace.ID, From: f.From, To: f.To, Team: f.Team, Agent: f.Agent}
	if f.Channel != "" {
		id, err := strconv.ParseInt(f.Channel, 10, 64)
		if err != nil || id <= 0 {
			return q, f, apperr.Validation{"canal": "Elige un canal de la lista"}
		}
		q.ChannelID = id
	}
	if !v.IsAdmin() {
		q.TeamIDs = append([]int64{}, v.TeamIDs...) // a supervisor's teams only
	}
	if from, err := time.ParseInLocation("2006-01-02", f.From, loc); err == nil {
		if to, err := time.ParseInLocation("2006-01-02", f.To, loc); err == nil && to.Sub(from) > 366*24*time.Hour {
			return q, f, apperr.Validation{"desde": "El rango puede abarcar hasta un año"}
		}
	}
	return q, f, nil
}

func canSeeReports(v accounts.Viewer) bool { return v.IsAdmin() || v.IsSupervisor() }

// reportsPage is /reports: KPIs with the previous period, charts and tables.
func (s *Server) reportsPage(c echo.Context) error {
	v := viewer(c)
	if !canSeeReports(v) {
		return apperr.ErrForbidden
	}
	ctx := c.Request().Context()
	q, f, err := s.reportQuery(c)
	props := reportsview.Props{Filters: f, Presets: reportPresets, Loc: v.Workspace.Location(), Now: s.Clock.Now()}
	if err == nil {
		q.Clock = reports.ClockWall
		if f.Business {
			q.Clock = reports.ClockBusiness
		}
		props.Page, err = s.Services.Reports.Page(ctx, q)
	}
	if err != nil {
		ve, ok := err.(apperr.Validation)
		if !ok {
			return err
		}
		for _, m := range ve {
			props.Error = m
		}
	}
	// The filter lists: the viewer's teams, the agents of those teams, the channels.
	db := s.Services.DB.Gorm.WithContext(ctx)
	var teams []models.Team
	tq := db.Where("workspace_id = ?", v.Workspace.ID)
	if !v.IsAdmin() {
		tq = tq.Where("id IN ?", append([]int64{0}, v.TeamIDs...))
	}
	if err := tq.Order("lower(name)").Find(&teams).Error; err != nil {
		return err
	}
	for _, t := range teams {
		props.Teams = append(props.Teams, reportsview.Option{Value: t.Name, Label: t.Name})
	}
	var users []models.User
	uq := db.Where("workspace_id = ? AND active AND role <> ?", v.Workspace.ID, models.RoleAdmin)
	if !v.IsAdmin() {
		uq = uq.Where("id IN (SELECT user_id FROM team_members WHERE team_id IN ?)", append([]int64{0}, v.TeamIDs...))
	}
	if err := uq.Order("lower(name), id").Find(&users).Error; err != nil {
		return err
	}
	props.AgentNames = map[string]string{}
	for _, u := range users {
		props.Agents = append(props.Agents, reportsview.Option{Value: u.Email, Label: u.Name})
		props.AgentNames[u.Email] = u.Name
	}
	var chans []models.Channel
	if err := db.Where("workspace_id = ?", v.Workspace.ID).Order("lower(name), id").Find(&chans).Error; err != nil {
		return err
	}
	for _, ch := range chans {
		props.Channels = append(props.Channels, reportsview.Option{Value: strconv.FormatInt(ch.ID, 10), Label: ch.Name})
	}
	props.Query = reportValues(f)
	return s.render(c, http.StatusOK, s.globals(c, "Reportes", "reports"), reportsview.Page(props))
}

// reportValues are the filters as a query string (links keep them).
func reportValues(f reportsview.Filters) url.Values {
	q := url.Values{}
	q.Set("rango", f.Preset)
	if f.Preset == "custom" {
		q.Set("desde", f.From)
		q.Set("hasta", f.To)
	}
	for k, v := range map[string]string{"equipo": f.Team, "agente": f.Agent, "canal": f.Channel, "orden_agentes": f.SortAgents, "orden_equipos": f.SortTeams} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Business {
		q.Set("horas", "laborales")
	}
	return q
}

// reportsExport is the CSV of exactly the page's filtered cycles (metrics.md columns).
func (s *Server) reportsExport(c echo.Context) error {
	v := viewer(c)
	if !canSeeReports(v) {
		return apperr.ErrForbidden
	}
	q, f, err := s.reportQuery(c)
	if err != nil {
		return err
	}
	q.WithCycles = true
	r, err := s.Services.Reports.Run(c.Request().Context(), q)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="reporte-`+f.From+`-`+f.To+`.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	return reports.WriteCSV(c.Response(), r)
}

package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/reports"
)

// apiReportSummary is `atiende report`'s JSON (metrics.md) for supervisors (their
// teams' cycles) and admins (the workspace's). Dates default to the last 7 days.
func (s *Server) apiReportSummary(c echo.Context) error {
	v := viewer(c)
	if !v.IsAdmin() && !v.IsSupervisor() {
		return apperr.ErrForbidden
	}
	loc := v.Workspace.Location()
	today := s.Clock.Now().In(loc).Format("2006-01-02")
	from, to := strings.TrimSpace(c.QueryParam("from")), strings.TrimSpace(c.QueryParam("to"))
	if to == "" {
		to = today
	}
	if from == "" {
		t, err := time.ParseInLocation("2006-01-02", to, loc)
		if err != nil {
			return reports.ErrBadRange
		}
		from = t.AddDate(0, 0, -6).Format("2006-01-02")
	}
	q := reports.Query{WorkspaceID: v.Workspace.ID, From: from, To: to, Team: c.QueryParam("team"), Agent: c.QueryParam("agent")}
	if ch := strings.TrimSpace(c.QueryParam("channel")); ch != "" {
		id, err := strconv.ParseInt(ch, 10, 64)
		if err != nil || id <= 0 {
			return apperr.Validation{"channel": "El canal se indica con su número de identificación"}
		}
		q.ChannelID = id
	}
	if !v.IsAdmin() {
		q.TeamIDs = append([]int64{}, v.TeamIDs...) // a supervisor's teams only
	}
	r, err := s.Services.Reports.Run(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

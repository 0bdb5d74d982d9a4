package web

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/models"
)

// railBadges are the numbers on the rail's Tablero: my conversations with unread
// messages, and the unassigned open ones of my teams (all of them for an admin).
type railBadges struct {
	Mine       int `json:"mine"`
	Unassigned int `json:"unassigned"`
}

// badges is GET /me/badges. The rail asks after the page loads and after live
// changes (badges.js), so pages do not wait for it; the answer is cached with the
// board's reads until the workspace changes. One index (workspace, assignee, status).
func (s *Server) badges(c echo.Context) error {
	v := viewer(c)
	b, err := live.Get(c.Request().Context(), s.cache, v.Workspace.ID, fmt.Sprintf("badges|u%d", v.User.ID), func(ctx context.Context) (railBadges, error) {
		var b railBadges
		teams := v.TeamIDs
		if len(teams) == 0 {
			teams = []int64{0}
		}
		teamCond, args := "(team_id IN ? OR team_id IS NULL)", []any{teams}
		if v.User.Role == models.RoleAdmin {
			teamCond, args = "true", nil
		}
		q := `SELECT count(*) FILTER (WHERE assignee_id = ? AND unread_count > 0) AS mine,
				count(*) FILTER (WHERE assignee_id IS NULL AND ` + teamCond + `) AS unassigned
			FROM conversations
			WHERE workspace_id = ? AND status IN ('new', 'active', 'pending') AND (assignee_id = ? OR assignee_id IS NULL)`
		all := append([]any{v.User.ID}, args...)
		all = append(all, v.Workspace.ID, v.User.ID)
		err := s.DB.Gorm.WithContext(ctx).Raw(q, all...).Scan(&b).Error
		return b, err
	})
	if err != nil {
		return clientGone(c, err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, b)
}

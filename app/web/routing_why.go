package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/views/pages/board"
)

// conversationWhy answers "¿por qué aquí?" on a card's menu: routing's latest decision
// on the conversation (a rule, the menu, the agent chosen and why), for those who see it.
func (s *Server) conversationWhy(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	v := viewer(c)
	var conv models.Conversation
	if err := s.DB.Gorm.WithContext(c.Request().Context()).Where("id = ? AND workspace_id = ?", id, v.Workspace.ID).Limit(1).Find(&conv).Error; err != nil {
		return err
	}
	if conv.ID == 0 || !inbox.CanSee(v, conv.WorkspaceID, conv.TeamID, conv.AssigneeID) {
		return apperr.ErrNotFound
	}
	d, ok, err := s.Services.Routing.LatestDecision(c.Request().Context(), v.Workspace.ID, id)
	if err != nil {
		return err
	}
	return renderComponent(c, http.StatusOK, board.Why(d.Note, d.At, ok, board.Env{Clock: board.Clock{Now: s.Clock.Now(), Loc: v.Workspace.Location()}}))
}

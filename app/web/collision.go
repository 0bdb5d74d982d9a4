package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/live"
)

// Collision warning: who else has a conversation open, and who is typing a reply.
// Nothing is stored: every open conversation page announces itself (every 20 s, on
// opening, when it starts typing a reply, and when it closes) through the live hub
// (NOTIFY, so it reaches every process), and each page keeps the others for a while
// after their last announcement (see collision.js): a tab that closes without saying
// so disappears from the others within a minute.

// Viewing states a page may announce.
const (
	viewingOpen   = "viewing"
	viewingTyping = "typing"
	viewingLeft   = "left"
)

// conversationViewing is POST /conversations/:id/viewing (state=viewing|typing|left).
func (s *Server) conversationViewing(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	state := c.FormValue("state")
	if state != viewingOpen && state != viewingTyping && state != viewingLeft {
		return apperr.Validation{"state": "Estado desconocido"}
	}
	ctx := c.Request().Context()
	v := viewer(c)
	var row struct {
		TeamID     *int64
		AssigneeID *int64
	}
	res := s.DB.Gorm.WithContext(ctx).Raw(`SELECT team_id, assignee_id FROM conversations WHERE id = ? AND workspace_id = ?`,
		id, v.Workspace.ID).Scan(&row)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 || !inbox.CanSee(v, v.Workspace.ID, row.TeamID, row.AssigneeID) {
		if state == viewingLeft {
			return c.NoContent(http.StatusNoContent) // leaving a chat one lost: nothing to say
		}
		return apperr.ErrNotFound
	}
	e := live.Event{Kind: "viewing", WorkspaceID: v.Workspace.ID, ConversationID: id, TeamID: row.TeamID, AssigneeID: row.AssigneeID,
		UserID: v.User.ID, Name: v.User.Name, Text: state}
	if err := live.Publish(s.DB.Gorm.WithContext(ctx), e); err != nil {
		return clientGone(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

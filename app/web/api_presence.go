package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/inbox"
)

// apiPresence sets the caller's own presence, as the menu at the bottom of the rail
// does: {"status":"online"|"busy"|"offline"}. Coming online hands them the oldest chats
// waiting in their teams' queues.
func (s *Server) apiPresence(c echo.Context) error {
	var in struct {
		Status string `json:"status"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if !inbox.ValidPresence(in.Status) {
		return apiError(http.StatusUnprocessableEntity, "invalid", `"status" debe ser "online", "busy" u "offline"`)
	}
	v := viewer(c)
	if err := s.Inbox.SetPresence(c.Request().Context(), v, in.Status); err != nil {
		return apiFail(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": map[string]any{"status": in.Status}})
}

// apiActivityEvery is how often an API caller's activity is written: every call counts
// as a heartbeat, so presence set through the API lasts as the board's does.
const apiActivityEvery = 30 * time.Second

// apiActivity records that the token's user is active (at most every apiActivityEvery).
func (s *Server) apiActivity(c echo.Context, v accounts.Viewer) {
	now := s.Clock.Now()
	if v.User.LastSeenAt != nil && now.Sub(*v.User.LastSeenAt) < apiActivityEvery {
		return
	}
	if _, err := s.Inbox.Heartbeat(c.Request().Context(), v); err != nil {
		s.Logger.Warn("api: recording activity", "user", v.User.ID, "err", err)
	}
}

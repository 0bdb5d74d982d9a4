package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/inbox"
)

// boardBulk is POST /board/bulk: one action on the selected cards (id, repeated).
// It answers JSON with the outcome of each, for the board's one summary toast.
func (s *Server) boardBulk(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	var ids []int64
	for _, raw := range form["id"] {
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || n <= 0 {
			return apperr.Validation{"ids": "Alguna conversación seleccionada no existe"}
		}
		ids = append(ids, n)
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(strings.TrimSpace(form.Get(k)), 10, 64); return n }
	a := inbox.BulkAction{Kind: form.Get("action"), AgentID: num("agent_id"), TeamID: num("team_id"), LabelID: num("label_id"),
		Note: form.Get("note"), Reason: form.Get("reason")}
	outs, err := s.Inbox.Bulk(c.Request().Context(), viewer(c), ids, a)
	if err != nil {
		return err
	}
	type failed struct {
		ID     int64  `json:"id"`
		Name   string `json:"name"`
		Reason string `json:"reason"`
	}
	res := struct {
		Action string   `json:"action"`
		Done   []int64  `json:"done"`
		Failed []failed `json:"failed"`
	}{Action: a.Kind, Done: []int64{}, Failed: []failed{}}
	for _, o := range outs {
		if o.OK {
			res.Done = append(res.Done, o.ID)
		} else {
			res.Failed = append(res.Failed, failed{ID: o.ID, Name: o.Name, Reason: o.Reason})
		}
	}
	return c.JSON(http.StatusOK, res)
}

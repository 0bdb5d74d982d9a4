package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// bindJSON decodes the request body strictly; bad JSON is a 400 with a useful message.
func bindJSON(c echo.Context, dst any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return apiError(http.StatusBadRequest, "bad_request", "El cuerpo debe ser JSON válido: "+err.Error())
	}
	whatsapp.CleanStrings(dst) // NUL and invalid UTF-8 never reach the database
	return nil
}

// apiFail is where API handlers hand a domain error back: handleError maps it
// (classify), the same way for the API as for pages.
func apiFail(err error) error { return err }

// apiMessage is a message as the API shows it.
type apiMessage struct {
	ID        int64          `json:"id"`
	Direction string         `json:"direction"`
	Kind      string         `json:"kind"`
	Body      string         `json:"body"`
	Private   bool           `json:"private"`
	Status    string         `json:"status"`
	Sender    map[string]any `json:"sender"`
	CreatedAt string         `json:"created_at"`
	// What a message of its kind carries (api_content.go).
	Reactions []apiReaction `json:"reactions,omitempty"`
	Location  *apiLocation  `json:"location,omitempty"`
	Order     *apiOrder     `json:"order,omitempty"`
	Edited    *apiEdited    `json:"edited,omitempty"`
}

func toAPIMessage(m models.Message, senderName, senderEmail string) apiMessage {
	sender := map[string]any{"type": m.SenderType}
	if m.SenderUserID != nil {
		sender["id"], sender["name"], sender["email"] = *m.SenderUserID, senderName, senderEmail
	} else if senderName != "" {
		sender["name"] = senderName
	}
	return apiMessage{ID: m.ID, Direction: m.Direction, Kind: m.Kind, Body: m.Body, Private: m.Private, Status: m.Status,
		Sender: sender, CreatedAt: m.CreatedAt.UTC().Format("2006-01-02T15:04:05Z07:00")}
}

func (s *Server) apiSendMessage(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return apiFail(err)
	}
	var in struct {
		Body    string `json:"body"`
		Private bool   `json:"private"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	v := viewer(c)
	var m models.Message
	if in.Private {
		m, err = s.Inbox.AddNote(c.Request().Context(), inbox.ByAPI(v), id, in.Body)
		if err == nil {
			if merr := s.notifyMentions(c.Request().Context(), v, id, in.Body); merr != nil { // mentions.go
				s.Logger.Warn("mentions not sent", "conversation", id, "err", merr)
			}
		}
	} else {
		m, err = s.Inbox.Reply(c.Request().Context(), inbox.ByAPI(v), id, in.Body, "")
	}
	if err != nil {
		return apiFail(err)
	}
	return c.JSON(http.StatusCreated, map[string]any{"data": toAPIMessage(m, v.User.Name, v.User.Email)})
}

func (s *Server) apiTake(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return apiFail(err)
	}
	if err := s.Inbox.Take(c.Request().Context(), inbox.ByAPI(viewer(c)), id); err != nil {
		return apiFail(err)
	}
	return s.apiConversationJSON(c, http.StatusOK, id)
}

func (s *Server) apiAssign(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return apiFail(err)
	}
	var in struct {
		Agent string `json:"agent"`
		Team  string `json:"team"`
		Note  string `json:"note"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	ctx, v := c.Request().Context(), viewer(c)
	var agentID, teamID *int64
	if strings.TrimSpace(in.Agent) != "" {
		u, err := s.Accounts.FindUserByEmail(ctx, v.Workspace.ID, in.Agent)
		if err != nil || !u.Active {
			return apiError(http.StatusUnprocessableEntity, "invalid", "No hay un agente activo con el correo "+in.Agent)
		}
		agentID = &u.ID
	}
	if strings.TrimSpace(in.Team) != "" {
		t, err := s.Accounts.TeamByName(ctx, v.Workspace.ID, in.Team)
		if err != nil {
			return apiError(http.StatusUnprocessableEntity, "invalid", "No hay un equipo llamado "+in.Team)
		}
		teamID = &t.ID
	}
	switch {
	case agentID == nil && teamID == nil:
		return apiError(http.StatusUnprocessableEntity, "invalid", `Indica "agent" (correo) o "team" (nombre)`)
	case teamID == nil && strings.TrimSpace(in.Note) == "":
		err = s.Inbox.Assign(ctx, inbox.ByAPI(v), id, *agentID)
	default:
		err = s.Inbox.Transfer(ctx, inbox.ByAPI(v), id, inbox.TransferInput{TeamID: teamID, AgentID: agentID, Note: in.Note})
	}
	if err != nil {
		return apiFail(err)
	}
	if err := s.apiConversationJSON(c, http.StatusOK, id); !errors.Is(err, apperr.ErrNotFound) {
		return err
	}
	// Handed over to a team or agent out of the caller's sight: done, and no longer theirs to read.
	return c.JSON(http.StatusOK, map[string]any{"data": map[string]any{"id": id, "visible": false}})
}

func (s *Server) apiStatus(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return apiFail(err)
	}
	var in struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if err := s.Inbox.SetStatus(c.Request().Context(), inbox.ByAPI(viewer(c)), id, in.Status, in.Reason); err != nil {
		return apiFail(err)
	}
	return s.apiConversationJSON(c, http.StatusOK, id)
}

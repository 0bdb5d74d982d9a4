package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/views/pages/conversation"
)

// apiConversationView is a conversation as the API shows it (design.md, JSON API v1).
type apiConversationView struct {
	ID              int64      `json:"id"`
	Status          string     `json:"status"`
	Team            *string    `json:"team"`
	Assignee        *apiPerson `json:"assignee"`
	Contact         apiContact `json:"contact"`
	Channel         apiChannel `json:"channel"`
	Labels          []string   `json:"labels"`
	Lead            *apiLead   `json:"lead"`
	SLA             apiSLA     `json:"sla"`
	WindowExpiresAt *time.Time `json:"window_expires_at"`
	LastMessageAt   *time.Time `json:"last_message_at"`
	Preview         string     `json:"preview"`
	Unread          int        `json:"unread"`
	ClosedAt        *time.Time `json:"closed_at,omitempty"`
	CloseReason     string     `json:"close_reason,omitempty"`
}

type apiPerson struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// apiContact: a customer known only by a WhatsApp username has wa_id and phone null
// and is identified by user_id.
type apiContact struct {
	ID       int64   `json:"id"`
	WaID     *string `json:"wa_id"`
	UserID   *string `json:"user_id"`
	Username *string `json:"username"`
	Phone    *string `json:"phone"`
	Name     string  `json:"name"`
	Company  string  `json:"company"`
}

type apiChannel struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

type apiLead struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
	Stage string `json:"stage"`
}

// apiSLA is the live SLA of a conversation: its state, the nearest running deadline
// and its clock (first_response, next_response, resolution), and each running
// deadline (null: no target, met, or paused while pending); window_closing is true
// when WhatsApp's 24-hour window closes within 2 h with the customer still waiting.
type apiSLA struct {
	State              string     `json:"state"` // "" (no policy), ok, warning, breached
	DueAt              *time.Time `json:"due_at"`
	Target             *string    `json:"target"`
	FirstResponseDueAt *time.Time `json:"first_response_due_at"`
	NextResponseDueAt  *time.Time `json:"next_response_due_at"`
	ResolutionDueAt    *time.Time `json:"resolution_due_at"`
	WindowClosing      bool       `json:"window_closing"`
}

// fromCard is card c as the API shows it at now.
func fromCard(c inbox.Card, waID, assigneeEmail string, now time.Time) apiConversationView {
	out := apiConversationView{ID: c.ID, Status: c.Status, Labels: []string{},
		Contact: apiContact{ID: c.ContactID, WaID: nullable(waID), UserID: nullable(c.UserID), Username: nullable(c.Username),
			Phone: nullable(c.Phone), Name: c.ContactName, Company: c.Company},
		Channel: apiChannel{ID: c.ChannelID, Name: c.ChannelName, Phone: c.ChannelPhone},
		SLA: apiSLA{State: c.SLAState, DueAt: c.SLADueAt, Target: nullable(c.SLATarget), FirstResponseDueAt: c.FirstResponseDueAt,
			NextResponseDueAt: c.NextResponseDueAt, ResolutionDueAt: c.ResolutionDueAt},
		WindowExpiresAt: c.WindowExpiresAt(), Preview: c.Preview, Unread: c.UnreadCount,
		ClosedAt: c.ClosedAt, CloseReason: c.CloseReason}
	if exp := c.WindowExpiresAt(); exp != nil && c.Status != models.StatusClosed && c.WaitingSince != nil &&
		exp.After(now) && exp.Sub(now) < 2*time.Hour {
		out.SLA.WindowClosing = true
	}
	if !c.LastMessageAt.IsZero() {
		t := c.LastMessageAt
		out.LastMessageAt = &t
	}
	if c.TeamID != nil {
		name := c.TeamName
		out.Team = &name
	}
	if c.AssigneeID != nil {
		out.Assignee = &apiPerson{ID: *c.AssigneeID, Name: c.AssigneeName, Email: assigneeEmail}
	}
	for _, l := range c.Labels {
		out.Labels = append(out.Labels, l.Name)
	}
	if c.Lead != nil {
		out.Lead = &apiLead{ID: c.Lead.ID, Title: c.Lead.Title, Stage: c.Lead.Stage}
	}
	return out
}

// apiViews turns cards into API views, loading wa_ids and assignee emails in two queries.
func (s *Server) apiViews(ctx context.Context, ws int64, cards []inbox.Card) ([]apiConversationView, error) {
	var contactIDs, userIDs []int64
	for _, c := range cards {
		contactIDs = append(contactIDs, c.ContactID)
		if c.AssigneeID != nil {
			userIDs = append(userIDs, *c.AssigneeID)
		}
	}
	waIDs := map[int64]string{}
	emails := map[int64]string{}
	if len(contactIDs) > 0 {
		var rows []struct {
			ID   int64
			WaID string
		}
		if err := s.DB.Gorm.WithContext(ctx).Raw(`SELECT id, wa_id FROM contacts WHERE workspace_id = ? AND id IN ?`, ws, contactIDs).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			waIDs[r.ID] = r.WaID
		}
	}
	if len(userIDs) > 0 {
		var rows []struct {
			ID    int64
			Email string
		}
		if err := s.DB.Gorm.WithContext(ctx).Raw(`SELECT id, email FROM users WHERE workspace_id = ? AND id IN ?`, ws, userIDs).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			emails[r.ID] = r.Email
		}
	}
	out := make([]apiConversationView, 0, len(cards))
	for _, c := range cards {
		email := ""
		if c.AssigneeID != nil {
			email = emails[*c.AssigneeID]
		}
		out = append(out, fromCard(c, waIDs[c.ContactID], email, s.Clock.Now()))
	}
	return out, nil
}

// apiConversations lists what the token's user sees, with the board's filters:
// status (one column; default the three open ones), team (name), assignee (email,
// or "none"), q (name, number or message text), limit, and cursor (with a status).
func (s *Server) apiConversations(c echo.Context) error {
	ctx, v := c.Request().Context(), viewer(c)
	var f inbox.BoardFilter
	f.Q = strings.TrimSpace(c.QueryParam("q"))
	if t := strings.TrimSpace(c.QueryParam("team")); t != "" {
		team, err := s.Accounts.TeamByName(ctx, v.Workspace.ID, t)
		if err != nil {
			return apiError(http.StatusUnprocessableEntity, "invalid", "No hay un equipo llamado "+t)
		}
		f.TeamID = &team.ID
	}
	switch a := strings.TrimSpace(c.QueryParam("assignee")); a {
	case "":
	case "none":
		f.View = inbox.ViewUnassigned
	default:
		u, err := s.Accounts.FindUserByEmail(ctx, v.Workspace.ID, a)
		if err != nil {
			return apiError(http.StatusUnprocessableEntity, "invalid", "No hay un usuario con el correo "+a)
		}
		f.AssigneeID = &u.ID
	}
	// Closed conversations: those closed between from and to (dates in the workspace's
	// time zone, both included); by default the last 7 days, as the board shows them.
	loc := v.Workspace.Location()
	for _, p := range []struct {
		name string
		dst  *time.Time
		add  int
	}{{"from", &f.ClosedSince, 0}, {"to", &f.ClosedUntil, 1}} {
		if q := strings.TrimSpace(c.QueryParam(p.name)); q != "" {
			d, err := time.ParseInLocation("2006-01-02", q, loc)
			if err != nil {
				return apiError(http.StatusUnprocessableEntity, "invalid", p.name+" debe ser una fecha AAAA-MM-DD")
			}
			*p.dst = d.AddDate(0, 0, p.add)
		}
	}
	if !f.ClosedUntil.IsZero() && f.ClosedSince.IsZero() {
		f.ClosedSince = f.ClosedUntil.AddDate(0, 0, -7)
	}
	if !f.ClosedUntil.IsZero() && !f.ClosedSince.Before(f.ClosedUntil) {
		return apiError(http.StatusUnprocessableEntity, "invalid", "from no puede ser posterior a to")
	}
	limit := inbox.DefaultColumnLimit
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > inbox.MaxColumnLimit {
			return apiError(http.StatusUnprocessableEntity, "invalid", "limit debe estar entre 1 y 100")
		}
		limit = n
	}
	statuses := []string{models.StatusNew, models.StatusActive, models.StatusPending}
	status := c.QueryParam("status")
	if status != "" {
		switch status {
		case models.StatusNew, models.StatusActive, models.StatusPending, models.StatusClosed:
			statuses = []string{status}
		default:
			return apiError(http.StatusUnprocessableEntity, "invalid", "status debe ser new, active, pending o closed")
		}
	}
	var cards []inbox.Card
	next := ""
	for _, st := range statuses {
		page, nx, err := s.Inbox.ListColumn(ctx, v, st, f, c.QueryParam("cursor"), limit)
		if err != nil {
			return apiFail(err)
		}
		cards = append(cards, page...)
		if status != "" {
			next = nx
		}
	}
	views, err := s.apiViews(ctx, v.Workspace.ID, cards)
	if err != nil {
		return err
	}
	body := map[string]any{"data": views}
	if next != "" {
		body["next_cursor"] = next
	}
	return c.JSON(http.StatusOK, body)
}

func (s *Server) apiConversation(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return apiFail(err)
	}
	return s.apiConversationJSON(c, http.StatusOK, id)
}

// apiConversationJSON answers with one conversation as v sees it now.
func (s *Server) apiConversationJSON(c echo.Context, status int, id int64) error {
	ctx, v := c.Request().Context(), viewer(c)
	card, err := s.Inbox.CardByID(ctx, v, id)
	if err != nil {
		return apiFail(err)
	}
	views, err := s.apiViews(ctx, v.Workspace.ID, []inbox.Card{card})
	if err != nil {
		return err
	}
	return c.JSON(status, map[string]any{"data": views[0]})
}

// apiMessages lists a conversation's history, oldest first; ?before=CURSOR pages back.
func (s *Server) apiMessages(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return apiFail(err)
	}
	var before inbox.Cursor
	if b := c.QueryParam("before"); b != "" {
		cur, ok := inbox.ParseCursor(b)
		if !ok {
			return apiError(http.StatusUnprocessableEntity, "invalid", "before no es un cursor válido")
		}
		before = cur
	}
	v := viewer(c)
	page, err := s.Inbox.Messages(c.Request().Context(), v, id, before, 100)
	if err != nil {
		return apiFail(err)
	}
	out := make([]apiMessage, 0, len(page.Messages))
	for _, m := range page.Messages {
		if m.Kind == models.KindActivity {
			m.Body = conversation.ActivityText(m)
		}
		am := toAPIMessage(m.Message, m.SenderName, "")
		withContent(&am, m)
		out = append(out, am)
	}
	body := map[string]any{"data": out}
	if page.Older != nil {
		body["before_cursor"] = page.Older.String()
	}
	return c.JSON(http.StatusOK, body)
}

// Package inbox is the conversation lifecycle: cycles, the board's status machine,
// replies and notes, taking, assigning, transferring, closing and reopening. Every
// command locks the conversation row, so concurrent agents and webhook retries see
// one consistent order of events.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/models"
)

// Window is WhatsApp's customer service window.
const Window = 24 * time.Hour

// MaxBody is the longest text WhatsApp accepts.
const MaxBody = 4096

// Service runs conversation commands.
type Service struct {
	DB    *gorm.DB
	Clock clock.Clock
	// History replays past events (demo data, the importer): outbound messages are
	// recorded as delivered and read, and nothing is queued for WhatsApp.
	History bool

	cache *live.Cache // nil: board reads go to the database every time
}

// New returns a Service.
func New(db *gorm.DB, c clock.Clock) *Service { return &Service{DB: db, Clock: c} }

// Visible restricts a conversations query (aliased c or unaliased) to what v may see:
// admins everything in the workspace; supervisors their teams' conversations, those
// without a team and their own; agents their own plus the unassigned ones of their
// teams or without a team.
func Visible(v accounts.Viewer, alias string) (string, []any) {
	p := ""
	if alias != "" {
		p = alias + "."
	}
	teams := v.TeamIDs
	if len(teams) == 0 {
		teams = []int64{0}
	}
	switch v.User.Role {
	case models.RoleAdmin:
		return p + "workspace_id = ?", []any{v.Workspace.ID}
	case models.RoleSupervisor:
		return fmt.Sprintf("%[1]sworkspace_id = ? AND (%[1]steam_id IN ? OR %[1]steam_id IS NULL OR %[1]sassignee_id = ?)", p),
			[]any{v.Workspace.ID, teams, v.User.ID}
	}
	return fmt.Sprintf("%[1]sworkspace_id = ? AND (%[1]sassignee_id = ? OR (%[1]sassignee_id IS NULL AND (%[1]steam_id IN ? OR %[1]steam_id IS NULL)))", p),
		[]any{v.Workspace.ID, v.User.ID, teams}
}

// CanSee applies the same rule as Visible to one conversation in memory (live events).
func CanSee(v accounts.Viewer, workspaceID int64, teamID, assigneeID *int64) bool {
	if workspaceID != v.Workspace.ID {
		return false
	}
	switch v.User.Role {
	case models.RoleAdmin:
		return true
	case models.RoleSupervisor:
		return teamID == nil || v.InTeam(*teamID) || (assigneeID != nil && *assigneeID == v.User.ID)
	}
	if assigneeID != nil {
		return *assigneeID == v.User.ID
	}
	return teamID == nil || v.InTeam(*teamID)
}

// locked loads conversation id for update if v may see it, and runs fn in the same
// transaction. A conversation v may not see is ErrNotFound, as if it did not exist.
// Visibility is judged on the locked row: after waiting for the lock, the
// conversation may have changed hands.
func (s *Service) locked(ctx context.Context, v accounts.Viewer, id int64, fn func(tx *gorm.DB, c *models.Conversation) error) error {
	return s.lockedOr(ctx, v, id, nil, fn)
}

// lockedOr is locked with a say on conversations v cannot see (any more): hidden
// returns the error to give instead of ErrNotFound, or nil to keep ErrNotFound.
func (s *Service) lockedOr(ctx context.Context, v accounts.Viewer, id int64, hidden func(tx *gorm.DB, c *models.Conversation) error, fn func(tx *gorm.DB, c *models.Conversation) error) error {
	defer s.Changed(v.Workspace.ID) // committed or not: a refused change costs one refill
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c models.Conversation
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ? AND workspace_id = ?", id, v.Workspace.ID).First(&c).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return apperr.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !CanSee(v, c.WorkspaceID, c.TeamID, c.AssigneeID) {
			if hidden != nil {
				if err := hidden(tx, &c); err != nil {
					return err
				}
			}
			return apperr.ErrNotFound
		}
		return fn(tx, &c)
	})
}

// event is one structured entry in conversation_events.
type event struct {
	kind               string
	at                 time.Time
	actor              *int64
	fromStatus         string
	toStatus           string
	fromTeam, toTeam   *int64
	fromAgent, toAgent *int64
	note               string
}

func (s *Service) record(tx *gorm.DB, c *models.Conversation, e event) error {
	return tx.Create(&models.ConversationEvent{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, CycleID: c.CycleID,
		Kind: e.kind, At: e.at, ActorID: e.actor, FromStatus: e.fromStatus, ToStatus: e.toStatus,
		FromTeamID: e.fromTeam, ToTeamID: e.toTeam, FromUserID: e.fromAgent, ToUserID: e.toAgent, Note: e.note}).Error
}

// activity adds a small centred line to the history ("Ana tomó la conversación").
func (s *Service) activity(tx *gorm.DB, c *models.Conversation, at time.Time, actor *int64, text string) error {
	return tx.Create(&models.Message{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, CycleID: c.CycleID, ChannelID: c.ChannelID,
		Direction: models.DirectionOut, Kind: models.KindActivity, Body: text, Private: true, SenderType: models.SenderSystem,
		SenderUserID: actor, CreatedAt: at}).Error
}

// setStatus moves the conversation and records the move.
func (s *Service) setStatus(tx *gorm.DB, c *models.Conversation, to string, at time.Time, actor *int64) error {
	if c.Status == to {
		return nil
	}
	from := c.Status
	c.Status = to
	return s.record(tx, c, event{kind: "status", at: at, actor: actor, fromStatus: from, toStatus: to})
}

// save writes the conversation's mutable fields and publishes a live event.
func (s *Service) save(tx *gorm.DB, c *models.Conversation, kind string, prevTeam, prevAssignee *int64, actor *int64, incoming bool) error {
	c.UpdatedAt = s.Clock.Now()
	if c.CycleID != nil && c.Status != models.StatusClosed && (!sameID(prevTeam, c.TeamID) || !sameID(prevAssignee, c.AssigneeID)) {
		// An open cycle's team and assignee follow the conversation's.
		if err := tx.Model(&models.Cycle{}).Where("id = ? AND closed_at IS NULL", *c.CycleID).
			Updates(map[string]any{"team_id": c.TeamID, "assignee_id": c.AssigneeID}).Error; err != nil {
			return err
		}
	}
	q, args, err := saveSQL(c, live.Event{Kind: kind, WorkspaceID: c.WorkspaceID, ConversationID: c.ID, Status: c.Status,
		TeamID: c.TeamID, AssigneeID: c.AssigneeID, PrevTeamID: prevTeam, PrevAssigneeID: prevAssignee, ActorID: actor, Incoming: incoming}, "")
	if err != nil {
		return err
	}
	return tx.Exec(q, args...).Error
}

// saveSQL is the statement that writes c's mutable fields and notifies e, in one round
// trip. guard, when set, is an extra condition of the UPDATE (the caller's CTE).
func saveSQL(c *models.Conversation, e live.Event, guard string) (string, []any, error) {
	payload, err := live.Payload(e)
	if err != nil {
		return "", nil, err
	}
	q := `u AS (
			UPDATE conversations SET status = ?, team_id = ?, assignee_id = ?, cycle_id = ?, last_message_at = ?,
				last_message_preview = ?, last_message_out = ?, last_inbound_at = ?, waiting_since = ?, unread_count = ?,
				close_reason = ?, closed_at = ?, first_response_due_at = ?, next_response_due_at = ?, resolution_due_at = ?,
				sla_state = ?, updated_at = ?
			WHERE id = ?` + guard + ` RETURNING id),
		n AS (SELECT pg_notify(?, ?) FROM u)`
	args := []any{c.Status, c.TeamID, c.AssigneeID, c.CycleID, c.LastMessageAt, c.LastMessagePreview, c.LastMessageOut, c.LastInboundAt,
		c.WaitingSince, c.UnreadCount, c.CloseReason, c.ClosedAt, c.FirstResponseDueAt, c.NextResponseDueAt, c.ResolutionDueAt,
		c.SLAState, c.UpdatedAt, c.ID, live.Channel, payload}
	if guard == "" {
		return "WITH " + q + " SELECT count(*) FROM n", args, nil
	}
	return q, args, nil
}

// openCycle starts a new cycle at at.
func (s *Service) openCycle(tx *gorm.DB, c *models.Conversation, at time.Time, by string) error {
	cy := models.Cycle{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, OpenedAt: at, OpenedBy: by, TeamID: c.TeamID, AssigneeID: c.AssigneeID}
	if err := tx.Create(&cy).Error; err != nil {
		return err
	}
	c.CycleID = &cy.ID
	c.ClosedAt = nil
	c.CloseReason = ""
	return s.record(tx, c, event{kind: "cycle_opened", at: at, note: by})
}

func userName(tx *gorm.DB, id int64) string {
	var name string
	tx.Model(&models.User{}).Where("id = ?", id).Pluck("name", &name)
	if name == "" {
		return "alguien"
	}
	return name
}

func teamName(tx *gorm.DB, id int64) string {
	var name string
	tx.Model(&models.Team{}).Where("id = ?", id).Pluck("name", &name)
	return name
}

func firstName(full string) string {
	if f := strings.Fields(full); len(f) > 0 {
		return f[0]
	}
	return full
}

func ptr[T any](v T) *T { return &v }

func sameID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func cleanBody(body string) (string, error) {
	body = strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
	if body == "" {
		return "", apperr.Validation{"body": "Escribe un mensaje antes de enviar"}
	}
	if n := len([]rune(body)); n > MaxBody {
		return "", apperr.Validation{"body": fmt.Sprintf("El mensaje tiene %d caracteres; WhatsApp admite hasta %d", n, MaxBody)}
	}
	return body, nil
}

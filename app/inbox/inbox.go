// Package inbox is the conversation lifecycle: cycles, the board's status machine,
// replies and notes, taking, assigning, transferring, closing and reopening. Every
// command locks the conversation row, so concurrent agents and webhook retries see
// one consistent order of events.
package inbox

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/models"
)

// Window is WhatsApp's customer service window.
const Window = 24 * time.Hour

// MaxBody is the longest text WhatsApp accepts.
const MaxBody = 4096

// ErrNoConversation: the conversation does not exist or the actor may not see it
// (both look the same).
var ErrNoConversation = apperr.NotFound{Msg: "No existe esa conversación o no tienes acceso."}

// Service runs conversation commands.
type Service struct {
	DB    *gorm.DB
	Clock clock.Clock

	cache *live.Cache // nil: board reads go to the database every time

	// OnFirstCycle, when set, runs in the transaction of a live customer message that
	// opens a conversation's first cycle (automatic leads, app/crm).
	OnFirstCycle func(tx *gorm.DB, in Inbound, c *models.Conversation) error
}

// New returns a Service.
func New(db *gorm.DB, c clock.Clock) *Service { return &Service{DB: db, Clock: c} }

// WithTx returns a copy of the service that runs its commands inside tx (each in a
// savepoint) with clock c: the importer replays a file this way, batch by batch.
func (s *Service) WithTx(tx *gorm.DB, c clock.Clock) *Service {
	cp := *s
	cp.DB, cp.Clock = tx, c
	return &cp
}

// locked loads conversation id for update if the actor may see it, and runs fn in the
// same transaction. A conversation the actor may not see is ErrNotFound, as if it did
// not exist. Visibility is judged on the locked row: after waiting for the lock, the
// conversation may have changed hands.
func (s *Service) locked(ctx context.Context, a Actor, id int64, fn func(tx *gorm.DB, c *models.Conversation) error) error {
	return s.lockedOr(ctx, a, id, nil, fn)
}

// lockedOr is locked with a say on conversations the actor cannot see (any more):
// hidden returns the error to give instead of ErrNotFound, or nil to keep ErrNotFound.
func (s *Service) lockedOr(ctx context.Context, a Actor, id int64, hidden func(tx *gorm.DB, c *models.Conversation) error, fn func(tx *gorm.DB, c *models.Conversation) error) error {
	v := a.Viewer()
	defer s.Changed(v.Workspace.ID) // committed or not: a refused change costs one refill
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The row and what the status machine needs of its cycle, in one round trip.
		var c models.Conversation
		err := tx.Raw(`SELECT c.*, (SELECT y.first_reply_at IS NOT NULL FROM cycles y WHERE y.id = c.cycle_id) AS cycle_replied
			FROM conversations c WHERE c.id = ? AND c.workspace_id = ? FOR UPDATE OF c`, id, v.Workspace.ID).Find(&c).Error
		if err != nil {
			return err
		}
		if c.ID == 0 {
			return ErrNoConversation
		}
		if !CanSee(v, c.WorkspaceID, c.TeamID, c.AssigneeID) {
			if hidden != nil {
				if err := hidden(tx, &c); err != nil {
					return err
				}
			}
			return ErrNoConversation
		}
		return fn(tx, &c)
	})
}

// state reads what the status machine needs of the locked conversation c.
func state(tx *gorm.DB, c *models.Conversation, needReplied bool) (State, error) {
	st := State{Status: c.Status, Team: c.TeamID, Assignee: c.AssigneeID,
		CycleOpen: c.CycleID != nil && c.Status != models.StatusClosed}
	if st.CycleOpen && c.CycleReplied != nil {
		st.Replied = *c.CycleReplied
	} else if st.CycleOpen && needReplied {
		var replied bool
		if err := tx.Raw(`SELECT first_reply_at IS NOT NULL FROM cycles WHERE id = ?`, *c.CycleID).Row().Scan(&replied); err != nil {
			return st, err
		}
		st.Replied = replied
	}
	return st, nil
}

// step runs cmd through Transition on the locked conversation c and persists what it
// decided: the cycle opened or closed, the first reply, the transfer flag, the events
// and their activity lines. c gets the new status, team and assignee and the card
// fields the move implies; the caller saves c.
func (s *Service) step(tx *gorm.DB, c *models.Conversation, cmd Command) (Outcome, error) {
	needReplied := cmd.Kind == CmdReply || cmd.Kind == CmdAssign || cmd.Kind == CmdTransfer
	st, err := state(tx, c, needReplied)
	if err != nil {
		return Outcome{}, err
	}
	o, err := Transition(st, cmd)
	if err != nil {
		return o, err
	}
	return o, s.persist(tx, c, cmd, o)
}

// persist writes an outcome of Transition for c: the cycle's changes in one UPDATE,
// the events in one INSERT, their activity lines in another.
func (s *Service) persist(tx *gorm.DB, c *models.Conversation, cmd Command, o Outcome) error {
	at := cmd.At
	cycle := map[string]any{}
	if o.OpenCycle == "" && c.CycleID != nil && (o.CloseCycle || (c.Status != models.StatusClosed &&
		(!sameID(c.TeamID, o.State.Team) || !sameID(c.AssigneeID, o.State.Assignee)))) {
		// An open cycle's team and assignee follow the conversation's (and are final at the close).
		cycle["team_id"], cycle["assignee_id"] = o.State.Team, o.State.Assignee
	}
	if o.CloseCycle {
		cycle["closed_at"], cycle["close_reason"] = at, cmd.Note
	}
	if o.FirstReply {
		cycle["first_reply_at"] = gorm.Expr("COALESCE(first_reply_at, ?)", at)
		cycle["first_reply_user_id"] = gorm.Expr("CASE WHEN first_reply_at IS NULL THEN ? ELSE first_reply_user_id END", cmd.Actor.UserID())
	}
	if o.Transferred {
		cycle["transferred"] = true
	}
	if len(cycle) > 0 && c.CycleID != nil {
		if err := tx.Model(&models.Cycle{}).Where("id = ?", *c.CycleID).Updates(cycle).Error; err != nil {
			return err
		}
	}
	if o.OpenCycle != "" {
		cy := models.Cycle{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, OpenedAt: at, OpenedBy: o.OpenCycle,
			TeamID: o.State.Team, AssigneeID: o.State.Assignee}
		if err := tx.Create(&cy).Error; err != nil {
			return err
		}
		c.CycleID = &cy.ID
		c.ClosedAt, c.CloseReason = nil, ""
	}
	if err := s.record(tx, c, cmd, o.Events); err != nil {
		return err
	}
	replied := o.State.Replied
	c.CycleReplied = &replied
	c.Status, c.TeamID, c.AssigneeID = o.State.Status, o.State.Team, o.State.Assignee
	switch {
	case o.has(EvClose):
		// Closing is handling it: nothing is left unread or waiting.
		c.ClosedAt, c.CloseReason, c.WaitingSince, c.UnreadCount = &at, cmd.Note, nil, 0
		c.FirstResponseDueAt, c.NextResponseDueAt, c.ResolutionDueAt, c.SLAState = nil, nil, nil, ""
	case cmd.Kind == CmdMove && c.Status == models.StatusPending:
		c.WaitingSince = nil
	}
	return nil
}

// record writes the events of one command (one INSERT) and the activity lines of
// those the history shows (one more).
func (s *Service) record(tx *gorm.DB, c *models.Conversation, cmd Command, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	actorKind := cmd.Actor.Kind
	if cmd.Kind == CmdInbound {
		actorKind = ActorContact
	}
	rows := make([]models.ConversationEvent, len(events))
	for i, e := range events {
		rows[i] = models.ConversationEvent{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, CycleID: c.CycleID,
			Kind: e.Kind, At: cmd.At, ActorKind: actorKind, ActorID: cmd.Actor.UserID(), FromStatus: e.FromStatus, ToStatus: e.ToStatus,
			FromTeamID: e.FromTeam, ToTeamID: e.ToTeam, FromUserID: e.FromAgent, ToUserID: e.ToAgent, Note: e.Note}
	}
	if err := tx.Create(&rows).Error; err != nil {
		return err
	}
	var lines []models.Message
	for i, e := range events {
		if e.Activity {
			// The history shows the event as a small centred line; the views render its words.
			lines = append(lines, models.Message{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, CycleID: c.CycleID, ChannelID: c.ChannelID,
				Direction: models.DirectionOut, Kind: models.KindActivity, Private: true, SenderType: models.SenderSystem,
				SenderUserID: cmd.Actor.UserID(), EventID: &rows[i].ID, CreatedAt: cmd.At})
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return tx.Create(&lines).Error
}

// save writes the conversation's mutable fields and publishes a live event.
func (s *Service) save(tx *gorm.DB, c *models.Conversation, kind string, prevTeam, prevAssignee *int64, actor Actor, incoming bool) error {
	c.UpdatedAt = s.Clock.Now()
	if actor.history() {
		// History is not news: the importer tells open boards once, when it is done.
		return tx.Model(c).Select("status", "team_id", "assignee_id", "cycle_id", "last_message_at", "last_message_preview",
			"last_message_out", "last_inbound_at", "waiting_since", "unread_count", "close_reason", "closed_at",
			"first_response_due_at", "next_response_due_at", "resolution_due_at", "sla_state", "updated_at").Updates(c).Error
	}
	q, args, err := saveSQL(c, live.Event{Kind: kind, WorkspaceID: c.WorkspaceID, ConversationID: c.ID, Status: c.Status,
		TeamID: c.TeamID, AssigneeID: c.AssigneeID, PrevTeamID: prevTeam, PrevAssigneeID: prevAssignee, ActorID: actor.UserID(), Incoming: incoming}, "")
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

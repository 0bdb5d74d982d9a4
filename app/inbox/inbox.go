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
	"github.com/atiende/atiende/app/sla"
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
	// Reads, when set, runs the board's reads whose plan does not depend on the values
	// asked for (db.DB.Reads; see boardReads).
	Reads *gorm.DB

	cache *live.Cache // nil: board reads go to the database every time

	closed *closedKeep // Cerrados' counts kept (see closedCount); shared by copies

	// slaPolicies remembers teams' SLA policies for the engine (nil: read every time).
	slaPolicies *sla.Cache

	// OnFirstCycle, when set, runs in the transaction of a live customer message that
	// opens a conversation's first cycle (automatic leads, app/crm).
	OnFirstCycle func(tx *gorm.DB, in Inbound, c *models.Conversation) error
	// OnRouting, when set, runs in the transaction of a live customer message that opens
	// a cycle (opened) or answers the welcome menu (c.MenuState "waiting"): app/routing.
	OnRouting func(tx *gorm.DB, in Inbound, c *models.Conversation, opened bool) error
	// PreRoute, when set, decides a live message's new cycle before it opens (team,
	// agent, why), so one statement writes them with the cycle; its After runs once the
	// cycle is open (labels, away message, welcome menu). With PreRoute, OnRouting only
	// sees menu answers.
	PreRoute func(tx *gorm.DB, in Inbound, c *models.Conversation) (RouteDecision, error)
	// AfterCommit, when set, runs after a command committed that freed an agent's
	// capacity (freed: user ids) or left a conversation in a team's queue with nobody
	// on it (queued: conversation ids), so routing can assign at once.
	AfterCommit func(ctx context.Context, wsID int64, freed, queued []int64)
	// OnClosed and OnLabelsAdded, when set, run in the transaction of a change that
	// closes a conversation or adds labels to it (automations, app/automations); c is
	// re-read after OnClosed, which may change the conversation.
	OnClosed      func(tx *gorm.DB, a Actor, c *models.Conversation) error
	OnLabelsAdded func(tx *gorm.DB, a Actor, c *models.Conversation, labelIDs []int64) error
}

// RouteDecision is routing's choice for a cycle about to open.
type RouteDecision struct {
	Team, Agent *int64
	Note        string
	// After runs in the same transaction once the cycle is open (nil: nothing).
	After func(tx *gorm.DB, c *models.Conversation) error
}

// afterCommit collects what a transaction's commands freed or queued (see AfterCommit).
type afterCommit struct{ freed, queued []int64 }

type afterCommitKey struct{}

// Apply runs cmd on conversation c, locked by the caller in tx (routing's commands).
func (s *Service) Apply(tx *gorm.DB, c *models.Conversation, cmd Command) (Outcome, error) {
	return s.run(tx, c, cmd, write{live: "assignment"})
}

// LockForRouting loads conversation id of workspace wsID locked for update in tx, with
// what the engine needs of its cycle; ok is false when it does not exist.
func LockForRouting(tx *gorm.DB, wsID, id int64, skipLocked bool) (models.Conversation, bool, error) {
	var c models.Conversation
	q := `SELECT c.*, (SELECT y.first_reply_at IS NOT NULL FROM cycles y WHERE y.id = c.cycle_id) AS cycle_replied
		FROM conversations c WHERE c.id = ? AND c.workspace_id + 0 = ? FOR UPDATE OF c`
	if skipLocked {
		q += " SKIP LOCKED"
	}
	err := tx.Raw(q, id, wsID).Find(&c).Error
	return c, c.ID != 0, err
}

// New returns a Service.
func New(db *gorm.DB, c clock.Clock) *Service {
	return &Service{DB: db, Clock: c, slaPolicies: sla.NewCache(sla.TTL), closed: &closedKeep{}}
}

// WithTx returns a copy of the service that runs its commands inside tx with clock c
// (the importer replays a file this way, batch by batch; its batches disable nested
// transactions, so a failed line rolls back the batch, which it then replays).
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
	if s.AfterCommit != nil {
		ac := &afterCommit{}
		ctx = context.WithValue(ctx, afterCommitKey{}, ac)
		defer func() {
			if len(ac.freed)+len(ac.queued) > 0 && ctx.Err() == nil {
				s.AfterCommit(context.WithoutCancel(ctx), v.Workspace.ID, ac.freed, ac.queued)
			}
		}()
	}
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The row and what the status machine needs of its cycle, in one round trip.
		// By primary key, so no plan can prefer another index (a fresh workspace has no
		// statistics), and only in the actor's workspace.
		var c models.Conversation
		// (workspace_id + 0 keeps the planner on the primary key.)
		err := tx.Raw(`SELECT c.*, (SELECT y.first_reply_at IS NOT NULL FROM cycles y WHERE y.id = c.cycle_id) AS cycle_replied
			FROM conversations c WHERE c.id = ? AND c.workspace_id + 0 = ? FOR UPDATE OF c`, id, v.Workspace.ID).Find(&c).Error
		if err != nil {
			return err
		}
		if c.ID == 0 || c.WorkspaceID != v.Workspace.ID {
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
	if err != nil {
		if ac, ok := ctx.Value(afterCommitKey{}).(*afterCommit); ok {
			ac.freed, ac.queued = nil, nil // rolled back: nothing was freed
		}
	}
	return err
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

// write is what a command writes besides what its transition decides.
type write struct {
	// msg is a message the command adds, inserted in the same statement (its ID is
	// set); nil when the caller stored it already (or there is none).
	msg *models.Message
	// fixCycle is a message (already stored) that belongs to the cycle the command
	// opens: an inbound message opening a cycle.
	fixCycle int64
	// live is the kind of the live event announcing the change; incoming marks a
	// customer message.
	live     string
	incoming bool
	// touch sets the card fields the command changes besides the transition (last
	// message, waiting, unread); open says whether a cycle was open before.
	touch func(c *models.Conversation, o Outcome, open bool)
	// onlyIfChanged writes nothing when the transition changes nothing (a drag to the
	// column the card is in).
	onlyIfChanged bool
}

// run runs cmd through Transition on the locked conversation c and writes, in one
// statement, everything it decided — the cycle opened, updated or closed, the events
// and their activity line, the message the command adds, the conversation row — and
// announces it on the live channel. c ends as it is now stored.
func (s *Service) run(tx *gorm.DB, c *models.Conversation, cmd Command, w write) (Outcome, error) {
	needReplied := cmd.Kind == CmdReply || cmd.Kind == CmdAssign || cmd.Kind == CmdTransfer || cmd.Kind == CmdRoute
	st, err := state(tx, c, needReplied)
	if err != nil {
		return Outcome{}, err
	}
	o, err := Transition(st, cmd)
	if err != nil {
		return o, err
	}
	if w.onlyIfChanged && !o.Changed() {
		return o, nil
	}
	at := cmd.At
	prevTeam, prevAssignee := c.TeamID, c.AssigneeID
	prevStatus, prevClosedAt := c.Status, c.ClosedAt
	// The SLA clocks (app/inbox/sla.go): c's due times now, and what the cycle records.
	clocks, err := s.planSLA(tx, c, st, o, cmd)
	if err != nil {
		return o, err
	}
	var b cte

	// The cycle: a new one, or the current one's changes.
	if o.OpenCycle != "" {
		b.add(`ny AS (INSERT INTO cycles (workspace_id, conversation_id, opened_at, opened_by, team_id, assignee_id, pending_since)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id)`, c.WorkspaceID, c.ID, at, o.OpenCycle, o.State.Team, o.State.Assignee, clocks.pendingSince)
		b.add(`cyc AS (SELECT id FROM ny)`)
	} else {
		b.add(`cyc AS (SELECT ?::bigint AS id)`, c.CycleID)
		var sets []string
		var args []any
		if c.CycleID != nil && (o.CloseCycle || (st.CycleOpen && (!sameID(c.TeamID, o.State.Team) || !sameID(c.AssigneeID, o.State.Assignee)))) {
			// An open cycle's team and assignee follow the conversation's (and are final at the close).
			sets, args = append(sets, "team_id = ?", "assignee_id = ?"), append(args, o.State.Team, o.State.Assignee)
		}
		if o.CloseCycle {
			sets, args = append(sets, "closed_at = ?", "close_reason = ?"), append(args, at, cmd.Note)
		}
		if o.FirstReply {
			sets = append(sets, "first_reply_at = COALESCE(first_reply_at, ?)",
				"first_reply_user_id = CASE WHEN first_reply_at IS NULL THEN ? ELSE first_reply_user_id END")
			args = append(args, at, cmd.Actor.UserID())
		}
		if o.Handover && st.CycleOpen {
			// Decided on the stored row, not on what was read before the lock was granted.
			sets = append(sets, "transferred = transferred OR first_reply_at IS NOT NULL")
		}
		sets, args = append(sets, clocks.cycleSets...), append(args, clocks.cycleArgs...)
		if len(sets) > 0 && c.CycleID != nil {
			b.add(`yu AS (UPDATE cycles SET `+strings.Join(sets, ", ")+` WHERE id = ?)`, append(args, *c.CycleID)...)
		}
	}
	if w.fixCycle != 0 {
		b.add(`mu AS (UPDATE messages SET cycle_id = (SELECT id FROM cyc) WHERE id = ?)`, w.fixCycle)
	}
	if m := w.msg; m != nil {
		b.add(`m AS (INSERT INTO messages (workspace_id, conversation_id, cycle_id, channel_id, direction, kind, body, private, automatic,
				wamid, sender_type, sender_user_id, status, media_id, media_mime, data, context_wamid, created_at, status_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id)`,
			m.WorkspaceID, m.ConversationID, m.CycleID, m.ChannelID, m.Direction, m.Kind, m.Body, m.Private, m.Automatic,
			m.Wamid, m.SenderType, m.SenderUserID, m.Status, m.MediaID, m.MediaMime, m.Data, m.ContextWamid, m.CreatedAt, m.StatusAt)
	}
	// The events, in order, and the activity line of the one the history shows.
	if len(o.Events) > 0 {
		actorKind := cmd.Actor.Kind
		if cmd.Kind == CmdInbound {
			actorKind = ActorContact
		}
		rows := make([]string, len(o.Events))
		var args []any
		activity := ""
		for i, e := range o.Events {
			rows[i] = "(?, ?, (SELECT id FROM cyc), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			ak := actorKind
			if e.Kind == EvRoute {
				ak = ActorRouting // a routing decision riding on a customer message
			}
			args = append(args, c.WorkspaceID, c.ID, e.Kind, at, ak, cmd.Actor.UserID(), e.FromStatus, e.ToStatus,
				e.FromTeam, e.ToTeam, e.FromAgent, e.ToAgent, e.Note)
			if e.Activity {
				activity = e.Kind
			}
		}
		b.add(`ev AS (INSERT INTO conversation_events (workspace_id, conversation_id, cycle_id, kind, at, actor_kind, actor_id,
				from_status, to_status, from_team_id, to_team_id, from_user_id, to_user_id, note)
			VALUES `+strings.Join(rows, ", ")+` RETURNING id, kind)`, args...)
		if activity != "" {
			// The history shows the event as a small centred line; the views render its words.
			b.add(`act AS (INSERT INTO messages (workspace_id, conversation_id, cycle_id, channel_id, direction, kind, body, private,
					sender_type, sender_user_id, event_id, created_at)
				SELECT ?::bigint, ?::bigint, (SELECT id FROM cyc), ?::bigint, 'out', 'activity', '', true, 'system', ?::bigint, ev.id, ?::timestamptz
				FROM ev WHERE ev.kind = ?)`, c.WorkspaceID, c.ID, c.ChannelID, cmd.Actor.UserID(), at, activity)
		}
	}

	// The conversation row as it is now.
	c.Status, c.TeamID, c.AssigneeID = o.State.Status, o.State.Team, o.State.Assignee
	if o.OpenCycle != "" {
		c.ClosedAt, c.CloseReason = nil, ""
	}
	switch {
	case o.has(EvClose):
		// Closing is handling it: nothing is left unread or waiting.
		c.ClosedAt, c.CloseReason, c.WaitingSince, c.UnreadCount = &at, cmd.Note, nil, 0
	case cmd.Kind == CmdMove && c.Status == models.StatusPending:
		c.WaitingSince = nil
	}
	if w.touch != nil {
		w.touch(c, o, st.CycleOpen)
	}
	c.UpdatedAt = s.Clock.Now()
	b.add(`u AS (UPDATE conversations SET status = ?, team_id = ?, assignee_id = ?, cycle_id = (SELECT id FROM cyc), last_message_at = ?,
			last_message_preview = ?, last_message_out = ?, last_inbound_at = ?, waiting_since = ?, unread_count = ?,
			close_reason = ?, closed_at = ?, first_response_due_at = ?, next_response_due_at = ?, resolution_due_at = ?,
			sla_state = ?, first_response_warn_at = ?, next_response_warn_at = ?, resolution_warn_at = ?, sla_notified = ?,
			sla_next_check_at = ?, updated_at = ?
		WHERE id = ? RETURNING id)`,
		c.Status, c.TeamID, c.AssigneeID, c.LastMessageAt, c.LastMessagePreview, c.LastMessageOut, c.LastInboundAt,
		c.WaitingSince, c.UnreadCount, c.CloseReason, c.ClosedAt, c.FirstResponseDueAt, c.NextResponseDueAt, c.ResolutionDueAt,
		c.SLAState, c.FirstResponseWarnAt, c.NextResponseWarnAt, c.ResolutionWarnAt, c.SLANotified, c.SLANextCheckAt,
		c.UpdatedAt, c.ID)
	notified := "0"
	if !cmd.Actor.history() {
		// History is not news: the importer tells open boards once, when it is done.
		e := live.Event{Kind: w.live, WorkspaceID: c.WorkspaceID, ConversationID: c.ID, Status: c.Status,
			TeamID: c.TeamID, AssigneeID: c.AssigneeID, PrevTeamID: prevTeam, PrevAssigneeID: prevAssignee,
			ActorID: cmd.Actor.UserID(), Incoming: w.incoming}
		e.ClosedSame, e.ClosedAt = closedEffect(prevStatus, prevClosedAt, c.Status, c.ClosedAt)
		e.PrevStatus = prevStatus
		payload, err := live.Payload(e)
		if err != nil {
			return o, err
		}
		b.add(`n AS (SELECT pg_notify(?, ?) FROM u)`, live.Channel, payload)
		notified = "(SELECT count(*) FROM n)"
	}
	msgID := "NULL::bigint"
	if w.msg != nil {
		msgID = "(SELECT id FROM m)"
	}
	var out struct {
		CycleID   *int64
		MessageID *int64
		Notified  int
	}
	if err := tx.Raw(b.sql()+" SELECT (SELECT id FROM cyc) AS cycle_id, "+msgID+" AS message_id, "+notified+" AS notified", b.args...).
		Find(&out).Error; err != nil {
		return o, err
	}
	c.CycleID = out.CycleID
	if w.msg != nil && out.MessageID != nil {
		w.msg.ID = *out.MessageID
	}
	replied := o.State.Replied
	c.CycleReplied = &replied
	if s.OnClosed != nil && o.has(EvClose) && !cmd.Actor.history() {
		if err := s.OnClosed(tx, cmd.Actor, c); err != nil {
			return o, err
		}
		if err := tx.Raw(`SELECT c.*, (SELECT y.first_reply_at IS NOT NULL FROM cycles y WHERE y.id = c.cycle_id) AS cycle_replied
			FROM conversations c WHERE c.id = ?`, c.ID).Find(c).Error; err != nil {
			return o, err
		}
	}
	if ac, ok := tx.Statement.Context.Value(afterCommitKey{}).(*afterCommit); ok && !cmd.Actor.history() {
		busy := func(st string) bool { return st == models.StatusNew || st == models.StatusActive }
		if prevAssignee != nil && busy(st.Status) && (!sameID(prevAssignee, c.AssigneeID) || !busy(c.Status)) {
			ac.freed = append(ac.freed, *prevAssignee) // one chat less on their plate
		}
		if c.AssigneeID == nil && c.TeamID != nil && c.Status == models.StatusNew && cmd.Kind == CmdTransfer {
			ac.queued = append(ac.queued, c.ID) // sent to a team with nobody named
		}
	}
	return o, nil
}

// cte builds one WITH statement from its parts, keeping their arguments in order.
type cte struct {
	parts []string
	args  []any
}

func (b *cte) add(part string, args ...any) {
	b.parts = append(b.parts, part)
	b.args = append(b.args, args...)
}

func (b *cte) sql() string { return "WITH " + strings.Join(b.parts, ",\n") }

// closedEffect is how a change from (prevStatus, prevClosedAt) to (status, closedAt)
// may move Cerrados, for live.Event: not at all between open statuses; for windows
// starting at or before the later closing time otherwise (any window when a closed
// conversation has none).
func closedEffect(prevStatus string, prevClosedAt *time.Time, status string, closedAt *time.Time) (same bool, at *time.Time) {
	prevClosed, closed := prevStatus == models.StatusClosed, status == models.StatusClosed
	if !prevClosed && !closed {
		return true, nil
	}
	var latest *time.Time
	for i, t := range []*time.Time{prevClosedAt, closedAt} {
		if (i == 0 && !prevClosed) || (i == 1 && !closed) {
			continue
		}
		if t == nil {
			return false, nil
		}
		if latest == nil || t.After(*latest) {
			latest = t
		}
	}
	return false, latest
}

// save writes the conversation's mutable fields and publishes a live event.
func (s *Service) save(tx *gorm.DB, c *models.Conversation, kind string, prevTeam, prevAssignee *int64, actor Actor, incoming bool) error {
	c.UpdatedAt = s.Clock.Now()
	q, args, err := saveSQL(c, live.Event{Kind: kind, WorkspaceID: c.WorkspaceID, ConversationID: c.ID, Status: c.Status,
		TeamID: c.TeamID, AssigneeID: c.AssigneeID, PrevTeamID: prevTeam, PrevAssigneeID: prevAssignee, ActorID: actor.UserID(), Incoming: incoming}, "", true)
	if err != nil {
		return err
	}
	return tx.Exec(q, args...).Error
}

// saveSQL is the statement that writes c's mutable fields and notifies e, in one round
// trip. guard, when set, is an extra condition of the UPDATE (the caller's CTE).
// Without notify (history) nothing is announced.
func saveSQL(c *models.Conversation, e live.Event, guard string, notify bool) (string, []any, error) {
	payload, err := live.Payload(e)
	if err != nil {
		return "", nil, err
	}
	note := "n AS (SELECT pg_notify(?, ?) FROM u)"
	if !notify {
		note = "n AS (SELECT 1 FROM u WHERE ? <> ?)"
	}
	q := `u AS (
			UPDATE conversations SET status = ?, team_id = ?, assignee_id = ?, cycle_id = ?, last_message_at = ?,
				last_message_preview = ?, last_message_out = ?, last_inbound_at = ?, waiting_since = ?, unread_count = ?,
				close_reason = ?, closed_at = ?, first_response_due_at = ?, next_response_due_at = ?, resolution_due_at = ?,
				sla_state = ?, updated_at = ?
			WHERE id = ?` + guard + ` RETURNING id),
		` + note
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

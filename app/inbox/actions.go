package inbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/app/whatsapp/outbox"
	"github.com/atiende/atiende/models"
)

// ErrWindowClosed: free-form replies are only allowed within 24 h of the customer's last message.
var ErrWindowClosed = apperr.Validation{"body": "La ventana de 24 h está cerrada: el cliente no escribe desde hace más de un día. Envía una plantilla aprobada para retomar la conversación."}

// canWork reports whether v may act on c as its agent: agents only on their own or
// unassigned conversations; supervisors and admins on any they can see.
func canWork(v accounts.Viewer, c *models.Conversation) bool {
	if v.User.Role != models.RoleAgent {
		return true
	}
	return c.AssigneeID == nil || *c.AssigneeID == v.User.ID
}

func (s *Service) contactWaID(tx *gorm.DB, contactID int64) (string, error) {
	var wa string
	// A customer known only by a username is written to at their business-scoped user id.
	err := tx.Model(&models.Contact{}).Where("id = ?", contactID).Pluck("COALESCE(NULLIF(wa_id, ''), user_id)", &wa).Error
	return wa, err
}

// Reply sends a free-form WhatsApp message as v. It queues the message in the outbox in
// the same transaction; the conversation becomes pending (waiting on the customer).
func (s *Service) Reply(ctx context.Context, v accounts.Viewer, convID int64, body, contextWamid string) (models.Message, error) {
	body, err := cleanBody(body)
	if err != nil {
		return models.Message{}, err
	}
	var m models.Message
	err = s.locked(ctx, v, convID, func(tx *gorm.DB, c *models.Conversation) error {
		now := s.Clock.Now()
		if !WindowOpen(c.LastInboundAt, now) {
			return ErrWindowClosed
		}
		waID, err := s.contactWaID(tx, c.ContactID)
		if err != nil {
			return err
		}
		m, err = s.sendOut(tx, v, c, now, models.KindText, body, waID, whatsapp.TextBody(waID, body, contextWamid))
		if err == nil && contextWamid != "" {
			err = tx.Model(&m).Update("context_wamid", contextWamid).Error
		}
		return err
	})
	return m, err
}

// sendOut records an agent's outbound message, queues it, and applies what an agent
// reply does to the conversation and its cycle.
func (s *Service) sendOut(tx *gorm.DB, v accounts.Viewer, c *models.Conversation, now time.Time, kind, body, waID string, graphBody []byte) (models.Message, error) {
	if !canWork(v, c) {
		return models.Message{}, apperr.ErrForbidden
	}
	prevTeam, prevAssignee := c.TeamID, c.AssigneeID
	open := c.CycleID != nil && c.Status != models.StatusClosed
	m := models.Message{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, ChannelID: c.ChannelID, Direction: models.DirectionOut,
		Kind: kind, Body: body, SenderType: models.SenderAgent, SenderUserID: &v.User.ID, Status: models.DeliveryQueued, CreatedAt: now}
	if open {
		m.CycleID = c.CycleID
	}
	if s.History {
		m.Status, m.StatusAt = models.DeliveryRead, &now
	}
	if err := tx.Create(&m).Error; err != nil {
		return m, err
	}
	if !s.History {
		if err := outbox.EnqueueMessage(tx, m, waID, graphBody); err != nil {
			return m, err
		}
	}
	if open {
		if c.AssigneeID == nil && v.User.Role == models.RoleAgent {
			// Answering an unassigned chat makes it yours: nobody else answers it twice.
			c.AssigneeID = &v.User.ID
			if err := s.record(tx, c, event{kind: "assign", at: now, actor: &v.User.ID, toAgent: &v.User.ID}); err != nil {
				return m, err
			}
		}
		if err := tx.Model(&models.Cycle{}).Where("id = ? AND first_reply_at IS NULL", *c.CycleID).
			Updates(map[string]any{"first_reply_at": now, "first_reply_user_id": v.User.ID}).Error; err != nil {
			return m, err
		}
		if err := s.setStatus(tx, c, models.StatusPending, now, &v.User.ID); err != nil {
			return m, err
		}
		c.WaitingSince = nil
	}
	c.UnreadCount = 0
	c.LastMessageAt = &now
	c.LastMessagePreview = Preview(kind, body)
	c.LastMessageOut = true
	return m, s.save(tx, c, "message", prevTeam, prevAssignee, &v.User.ID, false)
}

// SendTemplate sends an approved template (allowed outside the 24-hour window), with
// params filling {{1}}, {{2}}… in order.
func (s *Service) SendTemplate(ctx context.Context, v accounts.Viewer, convID, templateID int64, params []string) (models.Message, error) {
	var m models.Message
	err := s.locked(ctx, v, convID, func(tx *gorm.DB, c *models.Conversation) error {
		var t models.Template
		if err := tx.Where("id = ? AND workspace_id = ?", templateID, c.WorkspaceID).First(&t).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return apperr.Validation{"template": "Elige una plantilla de la lista"}
			}
			return err
		}
		body, err := RenderTemplate(t.Body, params)
		if err != nil {
			return err
		}
		waID, err := s.contactWaID(tx, c.ContactID)
		if err != nil {
			return err
		}
		m, err = s.sendOut(tx, v, c, s.Clock.Now(), models.KindTemplate, body, waID, whatsapp.TemplateBody(waID, t.Name, t.Language, params))
		if err == nil {
			err = tx.Model(&m).Update("data", models.JSON(fmt.Sprintf(`{"template":%q,"language":%q}`, t.Name, t.Language))).Error
		}
		return err
	})
	return m, err
}

// TemplateParams counts the {{n}} placeholders of a template body.
func TemplateParams(body string) int {
	n := 0
	for i := 1; i < 100; i++ {
		if !strings.Contains(body, fmt.Sprintf("{{%d}}", i)) {
			break
		}
		n = i
	}
	return n
}

// RenderTemplate fills a template body's placeholders; every one needs a value.
func RenderTemplate(body string, params []string) (string, error) {
	want := TemplateParams(body)
	if len(params) != want {
		return "", apperr.Validation{"params": fmt.Sprintf("Esta plantilla necesita %d valor(es)", want)}
	}
	for i, p := range params {
		p = strings.TrimSpace(p)
		if p == "" {
			return "", apperr.Validation{"params": fmt.Sprintf("Completa el valor {{%d}}", i+1)}
		}
		body = strings.ReplaceAll(body, fmt.Sprintf("{{%d}}", i+1), p)
	}
	return body, nil
}

// AddNote adds an internal note: visible to the team, never sent to WhatsApp, and it
// never changes the conversation's status.
func (s *Service) AddNote(ctx context.Context, v accounts.Viewer, convID int64, body string) (models.Message, error) {
	body, err := cleanBody(body)
	if err != nil {
		return models.Message{}, err
	}
	var m models.Message
	err = s.locked(ctx, v, convID, func(tx *gorm.DB, c *models.Conversation) error {
		m = models.Message{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, CycleID: c.CycleID, ChannelID: c.ChannelID,
			Direction: models.DirectionOut, Kind: models.KindNote, Body: body, Private: true, SenderType: models.SenderAgent,
			SenderUserID: &v.User.ID, CreatedAt: s.Clock.Now()}
		if err := tx.Create(&m).Error; err != nil {
			return err
		}
		return s.save(tx, c, "note", c.TeamID, c.AssigneeID, &v.User.ID, false)
	})
	return m, err
}

// takeRaceWindow is how recent an assignment must be for Tomar to say who won.
const takeRaceWindow = 10 * time.Minute

// Take assigns the conversation to v by hand. Exactly one of many agents pressing
// Tomar at once gets it; the others get a Conflict naming who did.
func (s *Service) Take(ctx context.Context, v accounts.Viewer, convID int64) error {
	// Someone took it first: say who, if v could see it while it was unassigned (it was
	// in v's queue) and it happened just now (a race on a card v was looking at). Old
	// assignments stay not found, so Tomar cannot be used to probe colleagues' chats.
	takenFirst := func(tx *gorm.DB, c *models.Conversation) error {
		if c.AssigneeID == nil || c.Status == models.StatusClosed || !CanSee(v, c.WorkspaceID, c.TeamID, nil) {
			return nil
		}
		var recent bool
		if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM conversation_events WHERE conversation_id = ? AND kind IN ('assign', 'transfer') AND at > ?)`,
			c.ID, s.Clock.Now().Add(-takeRaceWindow)).Scan(&recent).Error; err != nil || !recent {
			return err
		}
		return apperr.Conflict{Msg: fmt.Sprintf("%s ya tomó esta conversación.", userName(tx, *c.AssigneeID))}
	}
	return s.lockedOr(ctx, v, convID, takenFirst, func(tx *gorm.DB, c *models.Conversation) error {
		now := s.Clock.Now()
		if c.AssigneeID != nil && *c.AssigneeID != v.User.ID {
			return apperr.Conflict{Msg: fmt.Sprintf("%s ya tomó esta conversación.", userName(tx, *c.AssigneeID))}
		}
		if c.Status == models.StatusClosed {
			return apperr.Validation{"status": "La conversación está cerrada: reábrela para tomarla."}
		}
		prevAssignee := c.AssigneeID
		if c.AssigneeID == nil {
			c.AssigneeID = &v.User.ID
			if err := s.record(tx, c, event{kind: "assign", at: now, actor: &v.User.ID, toAgent: &v.User.ID}); err != nil {
				return err
			}
			if err := s.activity(tx, c, now, &v.User.ID, fmt.Sprintf("%s tomó la conversación", firstName(v.User.Name))); err != nil {
				return err
			}
		}
		if c.Status == models.StatusNew {
			if err := s.setStatus(tx, c, models.StatusActive, now, &v.User.ID); err != nil {
				return err
			}
		}
		return s.save(tx, c, "assignment", c.TeamID, prevAssignee, &v.User.ID, false)
	})
}

// Assign gives the conversation to agent agentID (supervisors and admins). Assigning
// never changes the status: an automatic or supervisor assignment leaves Nuevos as is.
func (s *Service) Assign(ctx context.Context, v accounts.Viewer, convID, agentID int64) error {
	if v.User.Role == models.RoleAgent && agentID != v.User.ID {
		return apperr.ErrForbidden
	}
	return s.locked(ctx, v, convID, func(tx *gorm.DB, c *models.Conversation) error {
		agent, err := activeUser(tx, c.WorkspaceID, agentID)
		if err != nil {
			return err
		}
		return s.reassign(tx, v, c, c.TeamID, &agent.ID, "", fmt.Sprintf("%s asignó la conversación a %s", firstName(v.User.Name), agent.Name))
	})
}

// TransferInput says where a conversation goes: a team, an agent, or both.
type TransferInput struct {
	TeamID  *int64
	AgentID *int64
	Note    string
}

// Transfer hands the conversation over with a note the receiver sees first.
func (s *Service) Transfer(ctx context.Context, v accounts.Viewer, convID int64, in TransferInput) error {
	in.Note = strings.TrimSpace(in.Note)
	if in.Note == "" {
		return apperr.Validation{"note": "Escribe una nota para quien recibe: qué pidió el cliente y qué falta"}
	}
	if in.TeamID == nil && in.AgentID == nil {
		return apperr.Validation{"to": "Elige un equipo o un agente"}
	}
	return s.locked(ctx, v, convID, func(tx *gorm.DB, c *models.Conversation) error {
		if !canWork(v, c) {
			return apperr.ErrForbidden
		}
		team := c.TeamID
		target := ""
		if in.TeamID != nil {
			var t models.Team
			if err := tx.Where("id = ? AND workspace_id = ?", *in.TeamID, c.WorkspaceID).First(&t).Error; err != nil {
				if errors.Is(err, gorm.ErrRecordNotFound) {
					return apperr.Validation{"team": "Ese equipo no existe"}
				}
				return err
			}
			team, target = &t.ID, t.Name
		}
		var agent *int64
		if in.AgentID != nil {
			u, err := activeUser(tx, c.WorkspaceID, *in.AgentID)
			if err != nil {
				return err
			}
			agent = &u.ID
			if target != "" {
				target += " (" + u.Name + ")"
			} else {
				target = u.Name
			}
		} else if sameID(team, c.TeamID) {
			agent = c.AssigneeID
		}
		if sameID(team, c.TeamID) && sameID(agent, c.AssigneeID) {
			return apperr.Validation{"to": "La conversación ya está ahí: elige otro equipo o agente"}
		}
		text := fmt.Sprintf("Transferida a %s por %s: «%s»", target, firstName(v.User.Name), in.Note)
		return s.reassign(tx, v, c, team, agent, in.Note, text)
	})
}

// reassign moves team and assignee, records the event, the activity line, and the
// cycle's transferred flag (after the first reply: agent to another agent, or team change).
func (s *Service) reassign(tx *gorm.DB, v accounts.Viewer, c *models.Conversation, team, agent *int64, note, text string) error {
	now := s.Clock.Now()
	prevTeam, prevAgent := c.TeamID, c.AssigneeID
	if sameID(team, prevTeam) && sameID(agent, prevAgent) {
		return nil
	}
	kind := "assign"
	if note != "" {
		kind = "transfer"
	}
	if err := s.record(tx, c, event{kind: kind, at: now, actor: &v.User.ID, fromTeam: prevTeam, toTeam: team,
		fromAgent: prevAgent, toAgent: agent, note: note}); err != nil {
		return err
	}
	if c.CycleID != nil && c.Status != models.StatusClosed {
		transferred := !sameID(team, prevTeam) || (prevAgent != nil && agent != nil && *prevAgent != *agent)
		if transferred {
			if err := tx.Model(&models.Cycle{}).Where("id = ? AND first_reply_at IS NOT NULL", *c.CycleID).
				Update("transferred", true).Error; err != nil {
				return err
			}
		}
	}
	if err := s.activity(tx, c, now, &v.User.ID, text); err != nil {
		return err
	}
	c.TeamID, c.AssigneeID = team, agent
	return s.save(tx, c, "assignment", prevTeam, prevAgent, &v.User.ID, false)
}

func activeUser(tx *gorm.DB, wsID, id int64) (models.User, error) {
	var u models.User
	err := tx.Where("id = ? AND workspace_id = ? AND active", id, wsID).First(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, apperr.Validation{"agent": "Ese agente no existe o está desactivado"}
	}
	return u, err
}

// StatusLabel is the Spanish name of a board column.
func StatusLabel(s string) string {
	switch s {
	case models.StatusNew:
		return "Nuevos"
	case models.StatusActive:
		return "En atención"
	case models.StatusPending:
		return "Pendientes"
	case models.StatusClosed:
		return "Cerrados"
	}
	return s
}

// SetStatus moves the conversation to another column, as a drag on the board does.
// Closing ends the cycle (with an optional reason); leaving Cerrados opens a new cycle
// at this moment; nothing already answered goes back to Nuevos.
func (s *Service) SetStatus(ctx context.Context, v accounts.Viewer, convID int64, to, reason string) error {
	switch to {
	case models.StatusNew, models.StatusActive, models.StatusPending, models.StatusClosed:
	default:
		return apperr.Validation{"status": "Estado desconocido"}
	}
	reason = strings.TrimSpace(reason)
	if len([]rune(reason)) > 500 {
		return apperr.Validation{"reason": "El motivo puede tener hasta 500 caracteres"}
	}
	return s.locked(ctx, v, convID, func(tx *gorm.DB, c *models.Conversation) error {
		if !canWork(v, c) {
			return apperr.ErrForbidden
		}
		if c.Status == to {
			return nil
		}
		now := s.Clock.Now()
		me := &v.User.ID
		prevTeam, prevAgent := c.TeamID, c.AssigneeID
		name := firstName(v.User.Name)
		switch {
		case to == models.StatusClosed:
			if err := s.setStatus(tx, c, to, now, me); err != nil {
				return err
			}
			if c.CycleID != nil {
				if err := tx.Model(&models.Cycle{}).Where("id = ? AND closed_at IS NULL", *c.CycleID).Updates(map[string]any{
					"closed_at": now, "close_reason": reason, "team_id": c.TeamID, "assignee_id": c.AssigneeID}).Error; err != nil {
					return err
				}
			}
			// Closing is handling it: nothing is left unread or waiting.
			c.ClosedAt, c.CloseReason, c.WaitingSince, c.UnreadCount = &now, reason, nil, 0
			c.FirstResponseDueAt, c.NextResponseDueAt, c.ResolutionDueAt, c.SLAState = nil, nil, nil, ""
			text := name + " cerró la conversación"
			if reason != "" {
				text += ": «" + reason + "»"
			}
			if err := s.activity(tx, c, now, me, text); err != nil {
				return err
			}
		case c.Status == models.StatusClosed:
			// Dragging a closed card out reopens it as a new cycle starting now.
			if err := s.openCycle(tx, c, now, "reopen"); err != nil {
				return err
			}
			if err := s.setStatus(tx, c, to, now, me); err != nil {
				return err
			}
			if to == models.StatusActive && c.AssigneeID == nil && v.User.Role == models.RoleAgent {
				c.AssigneeID = me
			}
			if err := s.activity(tx, c, now, me, name+" reabrió la conversación"); err != nil {
				return err
			}
		case to == models.StatusNew:
			return apperr.Validation{"status": "Una conversación que ya se atendió no vuelve a Nuevos. Muévela a En atención o Pendientes."}
		default:
			if to == models.StatusActive && c.Status == models.StatusNew && c.AssigneeID == nil && v.User.Role == models.RoleAgent {
				// Dragging into En atención is taking the card by hand.
				c.AssigneeID = me
				if err := s.record(tx, c, event{kind: "assign", at: now, actor: me, toAgent: me}); err != nil {
					return err
				}
				if err := s.activity(tx, c, now, me, name+" tomó la conversación"); err != nil {
					return err
				}
			}
			if err := s.setStatus(tx, c, to, now, me); err != nil {
				return err
			}
			if to == models.StatusPending {
				c.WaitingSince = nil
			}
		}
		return s.save(tx, c, "status", prevTeam, prevAgent, me, false)
	})
}

// SetLabels replaces the conversation's labels.
func (s *Service) SetLabels(ctx context.Context, v accounts.Viewer, convID int64, labelIDs []int64) error {
	return s.locked(ctx, v, convID, func(tx *gorm.DB, c *models.Conversation) error {
		if len(labelIDs) > 0 {
			var n int64
			if err := tx.Model(&models.Label{}).Where("workspace_id = ? AND id IN ?", c.WorkspaceID, labelIDs).Count(&n).Error; err != nil {
				return err
			}
			if int(n) != len(uniq(labelIDs)) {
				return apperr.Validation{"labels": "Alguna etiqueta no existe"}
			}
		}
		if err := tx.Where("conversation_id = ?", c.ID).Delete(&models.ConversationLabel{}).Error; err != nil {
			return err
		}
		for _, id := range uniq(labelIDs) {
			if err := tx.Create(&models.ConversationLabel{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, LabelID: id}).Error; err != nil {
				return err
			}
		}
		return s.save(tx, c, "labels", c.TeamID, c.AssigneeID, &v.User.ID, false)
	})
}

func uniq(ids []int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// MarkRead clears the unread count when an agent opens the chat and, once per new
// customer message, sends WhatsApp's read receipt (the blue ticks) through the outbox.
func (s *Service) MarkRead(ctx context.Context, v accounts.Viewer, convID int64) error {
	return s.locked(ctx, v, convID, func(tx *gorm.DB, c *models.Conversation) error {
		if c.UnreadCount == 0 {
			return nil
		}
		var last struct {
			Wamid string
		}
		if err := tx.Raw(`SELECT wamid FROM messages WHERE conversation_id = ? AND direction = 'in' AND wamid IS NOT NULL
			ORDER BY created_at DESC, id DESC LIMIT 1`, c.ID).Scan(&last).Error; err != nil {
			return err
		}
		// Only the conversation's own agent reads it for the customer: a supervisor
		// glancing at a colleague's chat sends no blue ticks and leaves it unread.
		if c.AssigneeID != nil && *c.AssigneeID != v.User.ID {
			return nil
		}
		if last.Wamid != "" && !s.History {
			waID, err := s.contactWaID(tx, c.ContactID)
			if err != nil {
				return err
			}
			if err := outbox.EnqueueRead(tx, c.WorkspaceID, c.ChannelID, waID, last.Wamid); err != nil {
				return err
			}
		}
		c.UnreadCount = 0
		return s.save(tx, c, "read", c.TeamID, c.AssigneeID, &v.User.ID, false)
	})
}

// WindowOpen reports whether free-form messages may be sent: the customer wrote
// less than 24 hours ago.
func WindowOpen(lastInbound *time.Time, now time.Time) bool {
	return lastInbound != nil && now.Sub(*lastInbound) < Window
}

package inbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/app/whatsapp/outbox"
	"github.com/atiende/atiende/models"
)

// ErrWindowClosed: free-form replies are only allowed within 24 h of the customer's last message.
var ErrWindowClosed = apperr.Validation{"body": "La ventana de 24 h está cerrada: el cliente no escribe desde hace más de un día. Envía una plantilla aprobada para retomar la conversación."}

// canWork reports whether the actor may act on c as its agent: agents only on their
// own or unassigned conversations; supervisors, admins and non-person actors on any
// they can see.
func canWork(a Actor, c *models.Conversation) bool {
	if !a.IsPerson() || a.User.Role != models.RoleAgent {
		return true
	}
	return c.AssigneeID == nil || *c.AssigneeID == a.User.ID
}

// recipient is whom a message goes to on WhatsApp ("" for history, which is never sent).
func (s *Service) recipient(tx *gorm.DB, a Actor, c *models.Conversation) (string, error) {
	if a.history() {
		return "", nil
	}
	return s.contactWaID(tx, c.ContactID)
}

func (s *Service) contactWaID(tx *gorm.DB, contactID int64) (string, error) {
	var wa string
	// A customer known only by a username is written to at their business-scoped user id.
	err := tx.Model(&models.Contact{}).Where("id = ?", contactID).Pluck("COALESCE(NULLIF(wa_id, ''), user_id)", &wa).Error
	return wa, err
}

// Reply sends a free-form WhatsApp message as the actor (a person, or the importer
// replaying an agent's reply). It queues the message in the outbox in the same
// transaction; the conversation becomes pending (waiting on the customer).
func (s *Service) Reply(ctx context.Context, a Actor, convID int64, body, contextWamid string) (models.Message, error) {
	body, err := cleanBody(body)
	if err != nil {
		return models.Message{}, err
	}
	var m models.Message
	err = s.locked(ctx, a, convID, func(tx *gorm.DB, c *models.Conversation) error {
		now := s.Clock.Now()
		if !a.history() && !WindowOpen(c.LastInboundAt, now) {
			return ErrWindowClosed
		}
		waID, err := s.recipient(tx, a, c)
		if err != nil {
			return err
		}
		m, err = s.sendOut(tx, a, c, now, CmdReply, models.KindText, body, waID, whatsapp.TextBody(waID, body, contextWamid))
		if err == nil && contextWamid != "" {
			err = tx.Model(&m).Update("context_wamid", contextWamid).Error
		}
		return err
	})
	return m, err
}

// SendAutomatic sends an automatic message (welcome, menu, away, a rule's template):
// marked automatic in the history, sent through the outbox, never an agent reply.
func (s *Service) SendAutomatic(ctx context.Context, a Actor, convID int64, body string) (models.Message, error) {
	body, err := cleanBody(body)
	if err != nil {
		return models.Message{}, err
	}
	var m models.Message
	err = s.locked(ctx, a, convID, func(tx *gorm.DB, c *models.Conversation) error {
		waID, err := s.contactWaID(tx, c.ContactID)
		if err != nil {
			return err
		}
		m, err = s.sendOut(tx, a, c, s.Clock.Now(), CmdAuto, models.KindText, body, waID, whatsapp.TextBody(waID, body, ""))
		return err
	})
	return m, err
}

// SendAutomaticTx sends an automatic message on conversation c, locked by the caller
// in tx (routing's welcome menu and away message): graphBody is the Graph request (nil:
// plain text), data what the history keeps of it (interactive options).
func (s *Service) SendAutomaticTx(tx *gorm.DB, a Actor, c *models.Conversation, body string, graphBody []byte, data models.JSON) (models.Message, error) {
	body, err := cleanBody(body)
	if err != nil {
		return models.Message{}, err
	}
	waID, err := s.contactWaID(tx, c.ContactID)
	if err != nil {
		return models.Message{}, err
	}
	if graphBody == nil {
		graphBody = whatsapp.TextBody(waID, body, "")
	}
	m, err := s.sendOut(tx, a, c, s.Clock.Now(), CmdAuto, models.KindText, body, waID, graphBody)
	if err == nil && len(data) > 0 {
		err = tx.Model(&m).Update("data", data).Error
	}
	return m, err
}

// sendOut records an outbound message (an agent reply, or an automatic message),
// queues it (unless it is history), and applies what it does to the conversation.
func (s *Service) sendOut(tx *gorm.DB, a Actor, c *models.Conversation, now time.Time, cmdKind, kind, body, waID string, graphBody []byte) (models.Message, error) {
	if !canWork(a, c) {
		return models.Message{}, apperr.ErrForbidden
	}
	if cmdKind == CmdReply && a.UserID() == nil {
		return models.Message{}, apperr.Invalid("una respuesta de agente necesita un agente")
	}
	open := c.CycleID != nil && c.Status != models.StatusClosed
	m := models.Message{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, ChannelID: c.ChannelID, Direction: models.DirectionOut,
		Kind: kind, Body: body, SenderType: models.SenderAgent, SenderUserID: a.UserID(), Status: models.DeliveryQueued, CreatedAt: now}
	if cmdKind == CmdAuto {
		m.SenderType, m.Automatic = models.SenderSystem, true
	}
	if open {
		m.CycleID = c.CycleID
	}
	w := write{live: "message", touch: func(c *models.Conversation, o Outcome, open bool) {
		if open && cmdKind == CmdReply {
			c.WaitingSince = nil
			c.UnreadCount = 0
		}
		c.LastMessageAt = &now
		c.LastMessagePreview = Preview(kind, body)
		c.LastMessageOut = true
	}}
	if a.history() {
		// History: recorded as read, never sent; stored with the rest in one statement.
		m.Status, m.StatusAt = models.DeliveryRead, &now
		w.msg = &m
	} else {
		if err := tx.Create(&m).Error; err != nil {
			return m, err
		}
		if err := outbox.EnqueueMessage(tx, m, waID, graphBody); err != nil {
			return m, err
		}
	}
	_, err := s.run(tx, c, Command{Kind: cmdKind, At: now, Actor: a}, w)
	return m, err
}

// SendTemplate sends an approved template (allowed outside the 24-hour window), with
// params filling {{1}}, {{2}}… in order.
func (s *Service) SendTemplate(ctx context.Context, a Actor, convID, templateID int64, params []string) (models.Message, error) {
	var m models.Message
	err := s.locked(ctx, a, convID, func(tx *gorm.DB, c *models.Conversation) error {
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
		waID, err := s.recipient(tx, a, c)
		if err != nil {
			return err
		}
		cmd := CmdReply
		if !a.IsPerson() && a.Kind != ActorImporter {
			cmd = CmdAuto // a template sent by a rule is an automatic message
		}
		m, err = s.sendOut(tx, a, c, s.Clock.Now(), cmd, models.KindTemplate, body, waID, whatsapp.TemplateBody(waID, t.Name, t.Language, params))
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
func (s *Service) AddNote(ctx context.Context, a Actor, convID int64, body string) (models.Message, error) {
	body, err := cleanBody(body)
	if err != nil {
		return models.Message{}, err
	}
	var m models.Message
	err = s.locked(ctx, a, convID, func(tx *gorm.DB, c *models.Conversation) error {
		now := s.Clock.Now()
		m = models.Message{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, CycleID: c.CycleID, ChannelID: c.ChannelID,
			Direction: models.DirectionOut, Kind: models.KindNote, Body: body, Private: true, SenderType: models.SenderAgent,
			SenderUserID: a.UserID(), CreatedAt: now}
		if a.UserID() == nil {
			m.SenderType = models.SenderSystem
		}
		_, err := s.run(tx, c, Command{Kind: CmdNote, At: now, Actor: a}, write{msg: &m, live: "note"})
		return err
	})
	return m, err
}

// takeRaceWindow is how recent an assignment must be for Tomar to say who won.
const takeRaceWindow = 10 * time.Second

// Take assigns the conversation to the acting person by hand. Exactly one of many
// agents pressing Tomar at once gets it; the others get a Conflict naming who did.
func (s *Service) Take(ctx context.Context, a Actor, convID int64) error {
	if !a.IsPerson() {
		return apperr.ErrForbidden // only a person takes a card by hand
	}
	v := a.Viewer()
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
	return s.lockedOr(ctx, a, convID, takenFirst, func(tx *gorm.DB, c *models.Conversation) error {
		_, err := s.run(tx, c, Command{Kind: CmdTake, At: s.Clock.Now(), Actor: a}, write{live: "assignment"})
		if errors.Is(err, apperr.ErrConflict) && c.AssigneeID != nil {
			return apperr.Conflict{Msg: fmt.Sprintf("%s ya tomó esta conversación.", userName(tx, *c.AssigneeID))}
		}
		return err
	})
}

// Assign gives the conversation to agent agentID. People: supervisors and admins
// assign anyone, agents only themselves. Assigning never changes the status: an
// automatic or supervisor assignment leaves Nuevos as is.
func (s *Service) Assign(ctx context.Context, a Actor, convID, agentID int64) error {
	if a.IsPerson() && a.User.Role == models.RoleAgent && agentID != a.User.ID {
		return apperr.ErrForbidden
	}
	return s.locked(ctx, a, convID, func(tx *gorm.DB, c *models.Conversation) error {
		agent, err := activeUser(tx, c.WorkspaceID, agentID)
		if err != nil {
			return err
		}
		_, err = s.run(tx, c, Command{Kind: CmdAssign, At: s.Clock.Now(), Actor: a, Agent: &agent.ID}, write{live: "assignment"})
		return err
	})
}

// TransferInput says where a conversation goes: a team, an agent, or both.
type TransferInput struct {
	TeamID  *int64
	AgentID *int64
	Note    string
}

// Transfer hands the conversation over with a note the receiver sees first. A team
// with nobody named puts the conversation in that team's queue, unassigned.
func (s *Service) Transfer(ctx context.Context, a Actor, convID int64, in TransferInput) error {
	in.Note = strings.TrimSpace(in.Note)
	if in.Note == "" && a.IsPerson() {
		return apperr.Validation{"note": "Escribe una nota para quien recibe: qué pidió el cliente y qué falta"}
	}
	if len([]rune(in.Note)) > 2000 {
		return apperr.Validation{"note": "La nota puede tener hasta 2000 caracteres"}
	}
	if in.TeamID == nil && in.AgentID == nil {
		return apperr.Validation{"to": "Elige un equipo o un agente"}
	}
	return s.locked(ctx, a, convID, func(tx *gorm.DB, c *models.Conversation) error {
		if !canWork(a, c) {
			return apperr.ErrForbidden
		}
		if in.TeamID != nil {
			var n int64
			if err := tx.Model(&models.Team{}).Where("id = ? AND workspace_id = ?", *in.TeamID, c.WorkspaceID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return apperr.Validation{"team": "Ese equipo no existe"}
			}
		}
		if in.AgentID != nil {
			if _, err := activeUser(tx, c.WorkspaceID, *in.AgentID); err != nil {
				return err
			}
		}
		_, err := s.run(tx, c, Command{Kind: CmdTransfer, At: s.Clock.Now(), Actor: a, Team: in.TeamID, Agent: in.AgentID, Note: in.Note},
			write{live: "assignment"})
		return err
	})
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
func (s *Service) SetStatus(ctx context.Context, a Actor, convID int64, to, reason string) error {
	if !validStatus(to) {
		return apperr.Validation{"status": "Estado desconocido"}
	}
	reason = strings.TrimSpace(reason)
	if len([]rune(reason)) > 500 {
		return apperr.Validation{"reason": "El motivo puede tener hasta 500 caracteres"}
	}
	if to != models.StatusClosed {
		reason = ""
	}
	return s.locked(ctx, a, convID, func(tx *gorm.DB, c *models.Conversation) error {
		if !canWork(a, c) {
			return apperr.ErrForbidden
		}
		_, err := s.run(tx, c, Command{Kind: CmdMove, At: s.Clock.Now(), Actor: a, Status: to, Note: reason},
			write{live: "status", onlyIfChanged: true})
		return err
	})
}

// SetLabels replaces the conversation's labels.
func (s *Service) SetLabels(ctx context.Context, a Actor, convID int64, labelIDs []int64) error {
	return s.locked(ctx, a, convID, func(tx *gorm.DB, c *models.Conversation) error {
		if len(labelIDs) > 0 {
			var n int64
			if err := tx.Model(&models.Label{}).Where("workspace_id = ? AND id IN ?", c.WorkspaceID, labelIDs).Count(&n).Error; err != nil {
				return err
			}
			if int(n) != len(uniq(labelIDs)) {
				return apperr.Validation{"labels": "Alguna etiqueta no existe"}
			}
		}
		var had []int64
		if s.OnLabelsAdded != nil {
			if err := tx.Model(&models.ConversationLabel{}).Where("conversation_id = ?", c.ID).Pluck("label_id", &had).Error; err != nil {
				return err
			}
		}
		if err := tx.Where("conversation_id = ?", c.ID).Delete(&models.ConversationLabel{}).Error; err != nil {
			return err
		}
		var added []int64
		for _, id := range uniq(labelIDs) {
			if err := tx.Create(&models.ConversationLabel{WorkspaceID: c.WorkspaceID, ConversationID: c.ID, LabelID: id}).Error; err != nil {
				return err
			}
			if !slices.Contains(had, id) {
				added = append(added, id)
			}
		}
		if err := s.save(tx, c, "labels", c.TeamID, c.AssigneeID, a, false); err != nil {
			return err
		}
		if s.OnLabelsAdded != nil && len(added) > 0 && !a.history() {
			return s.OnLabelsAdded(tx, a, c, added)
		}
		return nil
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
func (s *Service) MarkRead(ctx context.Context, a Actor, convID int64) error {
	if !a.IsPerson() {
		return nil // only a person reads for the customer
	}
	v := a.Viewer()
	return s.locked(ctx, a, convID, func(tx *gorm.DB, c *models.Conversation) error {
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
		if last.Wamid != "" {
			waID, err := s.contactWaID(tx, c.ContactID)
			if err != nil {
				return err
			}
			if err := outbox.EnqueueRead(tx, c.WorkspaceID, c.ChannelID, waID, last.Wamid); err != nil {
				return err
			}
		}
		c.UnreadCount = 0
		return s.save(tx, c, "read", c.TeamID, c.AssigneeID, a, false)
	})
}

// WindowOpen reports whether free-form messages may be sent: the customer wrote
// less than 24 hours ago.
func WindowOpen(lastInbound *time.Time, now time.Time) bool {
	return lastInbound != nil && now.Sub(*lastInbound) < Window
}

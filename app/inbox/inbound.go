package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/app/phone"
	"github.com/atiende/atiende/models"
)

// Inbound is one customer message, from a webhook or the history importer.
type Inbound struct {
	WorkspaceID  int64
	ChannelID    int64
	WaID         string
	ProfileName  string
	Wamid        string
	At           time.Time
	Kind         string
	Body         string
	MediaID      string
	MediaMime    string
	Data         json.RawMessage
	ContextWamid string
	Referral     json.RawMessage
	// PinTeamID sets the team of a cycle this message opens, as if routing chose it.
	PinTeamID *int64
	// History: the message is replayed by the importer (no live event, no automatic reply).
	History bool
	// NoAutoLead: the channel is known to create no leads, so the first-cycle hook is skipped.
	NoAutoLead bool
}

// Received says what ReceiveInbound did.
type Received struct {
	ConversationID int64
	ContactID      int64
	MessageID      int64
	Duplicate      bool
	OpenedCycle    bool
}

// opensCycle reports whether a message of this kind is the customer writing to us.
// Reactions and system notices are not: they neither open cycles nor wake a pending
// conversation.
func opensCycle(kind string) bool {
	return kind != models.KindReaction && kind != models.KindSystem
}

// ReceiveInbound stores a customer message inside tx, exactly once per (channel, wamid),
// and applies the status machine: a message that finds no open cycle opens one (new);
// one that finds the conversation pending makes it active.
func (s *Service) ReceiveInbound(ctx context.Context, tx *gorm.DB, in Inbound) (Received, error) {
	var r Received
	tx = tx.WithContext(ctx)
	c, contactID, err := findLocked(tx, in)
	if err != nil {
		return r, err
	}
	if c.ID == 0 { // a new contact or a new conversation with this number
		if contactID, err = upsertContact(tx, in); err != nil {
			return r, err
		}
		if c, err = lockOrCreateConversation(tx, in.WorkspaceID, in.ChannelID, contactID, in.At); err != nil {
			return r, err
		}
	}
	r.ContactID = contactID
	r.ConversationID = c.ID
	m := models.Message{WorkspaceID: in.WorkspaceID, ConversationID: c.ID, ChannelID: in.ChannelID, Direction: models.DirectionIn,
		Kind: in.Kind, Body: in.Body, Wamid: &in.Wamid, SenderType: models.SenderContact, MediaID: in.MediaID, MediaMime: in.MediaMime,
		Data: models.JSON(in.Data), ContextWamid: in.ContextWamid, CreatedAt: in.At}
	open := c.CycleID != nil && c.Status != models.StatusClosed
	if open {
		m.CycleID = c.CycleID
	}
	actor := Actor{Kind: ActorContact}
	if in.History {
		actor.Kind = ActorImporter
	}
	cmd := Command{Kind: CmdInbound, At: in.At, Actor: actor, Counts: opensCycle(in.Kind), PinTeam: in.PinTeamID}
	st, err := state(tx, &c, false)
	if err != nil {
		return r, err
	}
	o, err := Transition(st, cmd)
	if err != nil {
		return r, err
	}
	insert := `m AS (INSERT INTO messages (workspace_id, conversation_id, cycle_id, channel_id, direction, kind, body, wamid, sender_type,
			media_id, media_mime, data, context_wamid, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel_id, wamid) DO NOTHING
		RETURNING id)`
	insertArgs := []any{m.WorkspaceID, m.ConversationID, m.CycleID, m.ChannelID, m.Direction, m.Kind, m.Body, m.Wamid, m.SenderType,
		m.MediaID, m.MediaMime, m.Data, m.ContextWamid, m.CreatedAt}
	if cmd.Counts && !o.Changed() && !in.History {
		// The common case, one round trip: the message moves nothing but the card's
		// last-message fields, so it is inserted and the conversation updated (and
		// notified) together; a duplicate inserts nothing and so updates nothing.
		touchByCustomer(&c, in)
		c.UpdatedAt = s.Clock.Now()
		q, args, err := saveSQL(&c, live.Event{Kind: "message", WorkspaceID: c.WorkspaceID, ConversationID: c.ID, Status: c.Status,
			TeamID: c.TeamID, AssigneeID: c.AssigneeID, PrevTeamID: c.TeamID, PrevAssigneeID: c.AssigneeID, Incoming: true},
			" AND EXISTS (SELECT 1 FROM m)")
		if err != nil {
			return r, err
		}
		var row struct{ ID *int64 }
		if err := tx.Raw("WITH "+insert+", "+q+" SELECT (SELECT id FROM m) AS id, (SELECT count(*) FROM n) AS notified",
			append(insertArgs, args...)...).Find(&row).Error; err != nil {
			return r, err
		}
		if row.ID == nil {
			r.Duplicate = true
			return r, nil
		}
		r.MessageID = *row.ID
		return r, nil
	}
	res := tx.Raw("WITH "+insert+" SELECT id FROM m", insertArgs...).Scan(&m.ID)
	if res.Error != nil {
		return r, res.Error
	}
	if m.ID == 0 {
		r.Duplicate = true
		return r, nil
	}
	r.MessageID = m.ID
	if !cmd.Counts {
		if in.History {
			return r, nil
		}
		return r, live.Publish(tx, live.Event{Kind: "message", WorkspaceID: c.WorkspaceID, ConversationID: c.ID, Status: c.Status,
			TeamID: c.TeamID, AssigneeID: c.AssigneeID, PrevTeamID: c.TeamID, PrevAssigneeID: c.AssigneeID})
	}
	prevTeam, prevAssignee := c.TeamID, c.AssigneeID
	firstCycle := c.CycleID == nil
	if err := s.persist(tx, &c, cmd, o); err != nil {
		return r, err
	}
	if o.OpenCycle != "" {
		if err := tx.Model(&models.Message{}).Where("id = ?", m.ID).Update("cycle_id", c.CycleID).Error; err != nil {
			return r, err
		}
		c.WaitingSince = nil
		c.UnreadCount = 0
		r.OpenedCycle = true
		if firstCycle && s.OnFirstCycle != nil && !in.History && !in.NoAutoLead {
			if err := s.OnFirstCycle(tx, in, &c); err != nil {
				return r, err
			}
		}
	}
	touchByCustomer(&c, in)
	return r, s.save(tx, &c, "message", prevTeam, prevAssignee, actor, true)
}

// touchByCustomer applies a customer message to the card: last message (unless an
// older one arrives late), the 24-hour window, waiting time and unread count.
func touchByCustomer(c *models.Conversation, in Inbound) {
	at := in.At
	if c.LastMessageAt == nil || !at.Before(*c.LastMessageAt) {
		c.LastMessageAt = &at
		c.LastMessagePreview = Preview(in.Kind, in.Body)
		c.LastMessageOut = false
	}
	if c.LastInboundAt == nil || at.After(*c.LastInboundAt) {
		c.LastInboundAt = &at
	}
	if c.WaitingSince == nil {
		c.WaitingSince = &at
	}
	c.UnreadCount++
}

// findLocked is the common case in one round trip: a known contact writing to a
// conversation that exists. It locks the conversation and refreshes the contact's
// profile name or ad referral when they changed. c.ID is 0 when either is missing.
// (Raw(…).Find rather than Scan on the webhook's path: GORM's Scan formats every
// statement with its arguments, a regexp pass, for a trace nobody reads.)
func findLocked(tx *gorm.DB, in Inbound) (models.Conversation, int64, error) {
	var row struct {
		models.Conversation `gorm:"embedded"`
		KProfileName        string
	}
	err := tx.Raw(`SELECT c.*, k.profile_name AS k_profile_name FROM conversations c JOIN contacts k ON k.id = c.contact_id
		WHERE k.workspace_id = ? AND k.wa_id = ? AND c.channel_id = ? FOR UPDATE OF c`, in.WorkspaceID, in.WaID, in.ChannelID).Find(&row).Error
	if err != nil || row.ID == 0 {
		return models.Conversation{}, 0, err
	}
	if (in.ProfileName != "" && in.ProfileName != row.KProfileName) || len(in.Referral) > 0 {
		if _, err := upsertContact(tx, in); err != nil {
			return models.Conversation{}, 0, err
		}
	}
	return row.Conversation, row.ContactID, nil
}

// lockOrCreateConversation returns the (channel, contact) conversation locked for
// update, creating it if needed. Concurrent deliveries for one conversation queue on
// the row lock; the unique key settles a race to create it.
func lockOrCreateConversation(tx *gorm.DB, wsID, channelID, contactID int64, at time.Time) (models.Conversation, error) {
	var c models.Conversation
	for attempt := 0; attempt < 2; attempt++ {
		if err := tx.Raw(`SELECT * FROM conversations WHERE channel_id = ? AND contact_id = ? FOR UPDATE`, channelID, contactID).Scan(&c).Error; err != nil || c.ID != 0 {
			return c, err
		}
		if err := tx.Raw(`INSERT INTO conversations (workspace_id, channel_id, contact_id, status, created_at, updated_at)
			VALUES (?, ?, ?, 'new', ?, ?) ON CONFLICT (channel_id, contact_id) DO NOTHING RETURNING *`,
			wsID, channelID, contactID, at, at).Scan(&c).Error; err != nil || c.ID != 0 {
			return c, err // the new row is ours: inserted rows are locked by their transaction
		}
	}
	return c, errors.New("inbox: conversation vanished while being created")
}

func upsertContact(tx *gorm.DB, in Inbound) (int64, error) {
	var existing struct {
		ID          int64
		ProfileName string
		HasReferral bool
	}
	err := tx.Raw(`SELECT id, profile_name, referral IS NOT NULL AS has_referral FROM contacts WHERE workspace_id = ? AND wa_id = ?`,
		in.WorkspaceID, in.WaID).Scan(&existing).Error
	if err != nil {
		return 0, err
	}
	if existing.ID != 0 {
		if (in.ProfileName != "" && in.ProfileName != existing.ProfileName) || len(in.Referral) > 0 {
			upd := map[string]any{"updated_at": in.At}
			if in.ProfileName != "" {
				upd["profile_name"] = in.ProfileName
			}
			if len(in.Referral) > 0 {
				upd["referral"] = models.JSON(in.Referral)
			}
			if err := tx.Model(&models.Contact{}).Where("id = ?", existing.ID).Updates(upd).Error; err != nil {
				return 0, err
			}
		}
		return existing.ID, nil
	}
	e164, country := phone.FromWaID(in.WaID)
	var id int64
	err = tx.Raw(`
		INSERT INTO contacts (workspace_id, wa_id, phone, country, profile_name, referral, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id, wa_id) DO UPDATE SET updated_at = contacts.updated_at
		RETURNING id`, in.WorkspaceID, in.WaID, e164, country, in.ProfileName, models.JSON(in.Referral), in.At, in.At).Scan(&id).Error
	return id, err
}

// Preview is the one-line summary of a message shown on cards.
func Preview(kind, body string) string {
	label := map[string]string{
		models.KindImage: "📷 Foto", models.KindVideo: "🎥 Video", models.KindAudio: "🎤 Audio",
		models.KindDocument: "📄 Documento", models.KindSticker: "Sticker", models.KindLocation: "📍 Ubicación",
		models.KindContacts: "👤 Contacto", models.KindOrder: "🛒 Pedido", models.KindUnsupported: "Mensaje no compatible",
		models.KindTemplate: "Plantilla",
	}[kind]
	switch {
	case body != "" && label != "":
		return truncate(label+": "+body, 140)
	case body != "":
		return truncate(body, 140)
	}
	return label
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

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
	WorkspaceID int64
	ChannelID   int64
	WaID        string
	// UserID is the business-scoped user id (a customer with a username may come
	// without WaID); Username and Country (ISO code) come with it when Meta sends them.
	UserID       string
	Username     string
	Country      string
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
	// RoutingVersion is the workspace's routing setup version (routing_setup_versions,
	// 0 before any change), read by ReceiveInbound with a message about to open a cycle
	// and handed to PreRoute, which may then trust the setup it remembers; nil: not read.
	RoutingVersion *int64
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
	c, contactID, contactChanged, err := findLocked(tx, in)
	if err != nil {
		return r, err
	}
	if c.ID == 0 { // a new contact or a new conversation with this number
		var changed bool
		if contactID, changed, err = upsertContact(tx, in); err != nil {
			return r, err
		}
		contactChanged = contactChanged || changed
		if c, err = lockOrCreateConversation(tx, in.WorkspaceID, in.ChannelID, contactID, in.At); err != nil {
			return r, err
		}
	}
	r.ContactID = contactID
	r.ConversationID = c.ID
	if contactChanged && !in.History {
		// The contact's name or number shows on the cards of all its conversations, in
		// any column: a change that names no column moves them all.
		if err := live.Publish(tx, live.Event{Kind: "contact", WorkspaceID: c.WorkspaceID, ConversationID: c.ID, Status: c.Status,
			TeamID: c.TeamID, AssigneeID: c.AssigneeID, PrevTeamID: c.TeamID, PrevAssigneeID: c.AssigneeID}); err != nil {
			return r, err
		}
	}
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
	insert := `m AS (INSERT INTO messages (workspace_id, conversation_id, cycle_id, channel_id, direction, kind, body, wamid, sender_type,
			media_id, media_mime, data, context_wamid, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel_id, wamid) DO NOTHING
		RETURNING id)`
	insertArgs := []any{m.WorkspaceID, m.ConversationID, m.CycleID, m.ChannelID, m.Direction, m.Kind, m.Body, m.Wamid, m.SenderType,
		m.MediaID, m.MediaMime, m.Data, m.ContextWamid, m.CreatedAt}
	var route RouteDecision
	routed, stored := false, false
	if cmd.Counts && !st.CycleOpen && s.PreRoute != nil && !in.History && in.PinTeamID == nil {
		// This message opens a cycle: routing decides now, written with the cycle. The
		// message is stored first: a duplicate routes nothing, and the agent routing
		// locks is held for the rest of the transaction only.
		var row struct{ ID, Version int64 }
		if err := tx.Raw("WITH "+insert+` SELECT (SELECT id FROM m) AS id,
				COALESCE((SELECT version FROM routing_setup_versions WHERE workspace_id = ?), 0) AS version`,
			append(insertArgs, in.WorkspaceID)...).Find(&row).Error; err != nil {
			return r, err
		}
		if m.ID = row.ID; m.ID == 0 {
			r.Duplicate = true
			return r, nil
		}
		stored = true
		in.RoutingVersion = &row.Version
		if route, err = s.PreRoute(tx, in, &c); err != nil {
			return r, err
		}
		cmd.PinTeam, cmd.Agent, cmd.Note, routed = route.Team, route.Agent, route.Note, true
	}
	o, err := Transition(st, cmd)
	if err != nil {
		return r, err
	}
	if cmd.Counts && !o.Changed() && !stored {
		// The common case, one round trip: the message moves nothing but the card's
		// last-message fields, so it is inserted and the conversation updated (and
		// notified) together; a duplicate inserts nothing and so updates nothing.
		touchByCustomer(&c, in)
		c.UpdatedAt = s.Clock.Now()
		q, args, err := saveSQL(&c, live.Event{Kind: "message", WorkspaceID: c.WorkspaceID, ConversationID: c.ID, Status: c.Status,
			TeamID: c.TeamID, AssigneeID: c.AssigneeID, PrevTeamID: c.TeamID, PrevAssigneeID: c.AssigneeID, Incoming: true,
			ClosedSame: c.Status != models.StatusClosed, PrevStatus: c.Status},
			" AND EXISTS (SELECT 1 FROM m)", !in.History)
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
		if c.MenuState != "" && s.OnRouting != nil && !in.History {
			// An answer to the welcome menu.
			return r, s.OnRouting(tx, in, &c, false)
		}
		return r, nil
	}
	if !stored {
		if m.ID, err = insertMessage(tx, "WITH "+insert+" SELECT id FROM m", insertArgs); err != nil {
			return r, err
		}
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
			TeamID: c.TeamID, AssigneeID: c.AssigneeID, PrevTeamID: c.TeamID, PrevAssigneeID: c.AssigneeID,
			ClosedSame: c.Status != models.StatusClosed, PrevStatus: c.Status})
	}
	w := write{live: "message", incoming: true, touch: func(c *models.Conversation, o Outcome, _ bool) {
		if o.OpenCycle != "" {
			c.WaitingSince = nil
			c.UnreadCount = 0
		}
		touchByCustomer(c, in)
	}}
	if o.OpenCycle != "" {
		w.fixCycle = m.ID
		r.OpenedCycle = true
	}
	firstCycle := c.CycleID == nil
	if _, err = s.run(tx, &c, cmd, w); err != nil {
		return r, err
	}
	if r.OpenedCycle && firstCycle && s.OnFirstCycle != nil && !in.History && !in.NoAutoLead {
		// A brand-new conversation: the channel may create its lead (app/crm), in this transaction.
		if err := s.OnFirstCycle(tx, in, &c); err != nil {
			return r, err
		}
	}
	if routed && r.OpenedCycle && route.After != nil {
		if err := route.After(tx, &c); err != nil {
			return r, err
		}
	} else if s.OnRouting != nil && !in.History && ((r.OpenedCycle && !routed) || (!r.OpenedCycle && c.MenuState != "")) {
		// Every cycle a live message opens is routed (rules, menu, team, agent), in this
		// transaction; an open cycle's message may answer the welcome menu.
		if err := s.OnRouting(tx, in, &c, r.OpenedCycle); err != nil {
			return r, err
		}
	}
	return r, nil
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
func findLocked(tx *gorm.DB, in Inbound) (models.Conversation, int64, bool, error) {
	var row struct {
		models.Conversation `gorm:"embedded"`
		KProfileName        string
		KWaID               string
		KUserID             string
		KUsername           string
	}
	// The contact by its unique key first, then its conversation by (channel, contact):
	// written so that no plan can walk the channel's conversations (a fresh database
	// has no statistics yet, and a bulk import fills it faster than ANALYZE runs).
	key, val := "wa_id", in.WaID
	if in.WaID == "" {
		key, val = "user_id", in.UserID // a customer known only by a username
	}
	if val == "" {
		return models.Conversation{}, 0, false, errors.New("inbox: a customer message needs a wa_id or a user id")
	}
	err := tx.Raw(`SELECT c.*, k.profile_name AS k_profile_name, k.wa_id AS k_wa_id, k.user_id AS k_user_id, k.username AS k_username
		FROM conversations c JOIN contacts k ON k.id = c.contact_id
		WHERE c.channel_id = ? AND c.contact_id = (SELECT id FROM contacts WHERE workspace_id = ? AND `+key+` = ? AND `+key+` <> '')
		FOR UPDATE OF c`, in.ChannelID, in.WorkspaceID, val).Find(&row).Error
	if err != nil || row.ID == 0 {
		return models.Conversation{}, 0, false, err
	}
	if (in.ProfileName != "" && in.ProfileName != row.KProfileName) || len(in.Referral) > 0 ||
		(in.UserID != "" && in.UserID != row.KUserID) || (in.WaID != "" && row.KWaID == "") ||
		(in.Username != "" && in.Username != row.KUsername) {
		_, changed, err := upsertContact(tx, in)
		return row.Conversation, row.ContactID, changed, err
	}
	return row.Conversation, row.ContactID, false, nil
}

// insertMessage runs q, the insert of a customer message, and returns its id (0: a
// duplicate).
func insertMessage(tx *gorm.DB, q string, args []any) (int64, error) {
	var row struct{ ID int64 }
	err := tx.Raw(q, args...).Find(&row).Error
	return row.ID, err
}

// lockOrCreateConversation returns the (channel, contact) conversation locked for
// update, creating it if needed. Concurrent deliveries for one conversation queue on
// the row lock; the unique key settles a race to create it. It is called when
// findLocked found none, so it tries to create it first.
func lockOrCreateConversation(tx *gorm.DB, wsID, channelID, contactID int64, at time.Time) (models.Conversation, error) {
	for attempt := 0; attempt < 2; attempt++ {
		var c models.Conversation
		if err := tx.Raw(`INSERT INTO conversations (workspace_id, channel_id, contact_id, status, created_at, updated_at)
			VALUES (?, ?, ?, 'new', ?, ?) ON CONFLICT (channel_id, contact_id) DO NOTHING RETURNING *`,
			wsID, channelID, contactID, at, at).Find(&c).Error; err != nil || c.ID != 0 {
			return c, err // the new row is ours: inserted rows are locked by their transaction
		}
		// It exists (the contact was found by another form of its number, or another
		// delivery created it meanwhile).
		if err := tx.Raw(`SELECT * FROM conversations WHERE channel_id = ? AND contact_id = ? FOR UPDATE`, channelID, contactID).Find(&c).Error; err != nil || c.ID != 0 {
			return c, err
		}
	}
	return models.Conversation{}, errors.New("inbox: conversation vanished while being created")
}

// upsertContact finds the contact of in by wa_id or by user id (the wa_id wins when
// both name someone), refreshes what changed (profile name, username, referral), and
// attaches a phone or a user id it learns for the first time; or creates the contact.
func upsertContact(tx *gorm.DB, in Inbound) (id int64, changed bool, err error) {
	// One contact per person: by WhatsApp id, by business-scoped user id (a customer
	// known only by a username), or by the number written another way (Mexico's 521…,
	// Argentina without the 9, a contact imported or created by hand).
	e164, country := "", in.Country
	if in.WaID != "" {
		e164, country = phone.FromWaID(in.WaID)
		if n, c, ok := phone.Normalize(in.WaID, ""); ok {
			e164, country = n, c
		}
	}
	// Found, or else created, in one round trip: the insert runs only when the lookup
	// (same snapshot) found nobody.
	var found []struct {
		ID          int64
		WaID        string
		UserID      string
		Username    string
		ProfileName string
		HasReferral bool
		Inserted    bool
	}
	// Each way of finding someone is its own index lookup (an OR of the three would let
	// a planner without fresh statistics scan the whole workspace's contacts instead).
	err = tx.Raw(`WITH f AS (
			SELECT DISTINCT ON (id) id, wa_id, user_id, username, profile_name, referral IS NOT NULL AS has_referral,
				(wa_id = ? AND wa_id <> '') AS by_wa, (user_id = ? AND user_id <> '') AS by_user
			FROM (
				SELECT * FROM contacts WHERE workspace_id = ? AND wa_id = ? AND wa_id <> ''
				UNION ALL SELECT * FROM contacts WHERE workspace_id = ? AND user_id = ? AND user_id <> ''
				UNION ALL SELECT * FROM contacts WHERE workspace_id = ? AND phone = ? AND phone <> '') k
			ORDER BY id
		), ins AS (
			INSERT INTO contacts (workspace_id, wa_id, user_id, username, phone, country, profile_name, referral, created_at, updated_at)
			SELECT ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::timestamptz, ?::timestamptz WHERE NOT EXISTS (SELECT 1 FROM f)
			ON CONFLICT DO NOTHING
			RETURNING id
		)
		SELECT id, wa_id, user_id, username, profile_name, has_referral, false AS inserted, by_wa, by_user FROM f
		UNION ALL SELECT id, '', '', '', '', false, true, false, false FROM ins
		ORDER BY by_wa DESC, by_user DESC, id`,
		in.WaID, in.UserID, in.WorkspaceID, in.WaID, in.WorkspaceID, in.UserID, in.WorkspaceID, e164,
		in.WorkspaceID, in.WaID, in.UserID, in.Username, e164, country, in.ProfileName, models.JSON(in.Referral), in.At, in.At).Find(&found).Error
	if err != nil {
		return 0, false, err
	}
	if len(found) > 0 && found[0].Inserted {
		return found[0].ID, false, nil
	}
	if len(found) > 0 {
		existing := found[0]
		upd := map[string]any{}
		if in.ProfileName != "" && in.ProfileName != existing.ProfileName {
			upd["profile_name"] = in.ProfileName
		}
		if in.Username != "" && in.Username != existing.Username {
			upd["username"] = in.Username
		}
		if len(in.Referral) > 0 {
			upd["referral"] = models.JSON(in.Referral)
		}
		if in.WaID != "" && existing.WaID == "" {
			// A later payload reveals the number of a customer known by username.
			upd["wa_id"], upd["phone"], upd["country"] = in.WaID, e164, country
		}
		if in.UserID != "" && existing.UserID != in.UserID {
			holders := 0
			for _, f := range found {
				if f.UserID == in.UserID {
					holders++
				}
			}
			if holders == 0 {
				upd["user_id"] = in.UserID // nobody else holds it (found would list them)
			}
		}
		if len(upd) > 0 {
			upd["updated_at"] = in.At
			if err := tx.Model(&models.Contact{}).Where("id = ?", existing.ID).Updates(upd).Error; err != nil {
				return 0, false, err
			}
		}
		return existing.ID, len(upd) > 0, nil
	}
	// Another delivery created it meanwhile.
	err = tx.Raw(`SELECT id FROM contacts WHERE workspace_id = ? AND ((wa_id <> '' AND wa_id = ?) OR (user_id <> '' AND user_id = ?))
		ORDER BY (wa_id = ? AND wa_id <> '') DESC, id LIMIT 1`, in.WorkspaceID, in.WaID, in.UserID, in.WaID).Scan(&id).Error
	return id, false, err
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

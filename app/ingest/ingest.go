// Package ingest turns a verified WhatsApp webhook into stored messages and
// statuses: the raw body is kept, every item of the batch is applied in one
// transaction, and duplicates (Meta retries for days) change nothing.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/app/metrics"
	"github.com/atiende/atiende/app/phone"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/app/whatsapp/outbox"
	"github.com/atiende/atiende/models"
)

// Ingester applies webhooks.
type Ingester struct {
	DB      *gorm.DB
	Inbox   *inbox.Service
	Clock   clock.Clock
	Logger  *slog.Logger
	Metrics *metrics.Metrics
}

// Summary counts what a webhook contained.
type Summary struct {
	Messages   int
	Duplicates int
	Statuses   int
	Skipped    int
	// Failed items could not be applied: each is kept as a dead letter.
	Failed int
}

// deadLetter is one item set aside in this delivery.
type deadLetter struct {
	kind, itemID, err string
	channelID         int64
	payload           []byte
}

// Apply stores body (already signature-checked for channel ch) and everything in it.
// One item (message or status) that cannot be applied must not cost the others: the
// batch is first applied as one transaction (the common case: no extra round trip);
// if an item fails, the batch is applied again with each item inside its own
// savepoint, so the failing one is rolled back alone and kept as a dead letter while
// the rest is stored. It returns only after the transaction has committed.
func (g *Ingester) Apply(ctx context.Context, ch models.Channel, body []byte) (Summary, error) {
	w, err := whatsapp.Parse(body)
	if err != nil {
		return Summary{}, err
	}
	now := g.Clock.Now()
	sum, err := g.apply(ctx, ch, w, body, now, false)
	var ie itemError
	if errors.As(err, &ie) {
		sum, err = g.apply(ctx, ch, w, body, now, true)
	}
	if g.Inbox != nil {
		g.Inbox.ChangedByMessages(ch.WorkspaceID)
	}
	if err == nil && g.Metrics != nil {
		g.Metrics.WebhookMessages.WithLabelValues("message").Add(float64(sum.Messages))
		g.Metrics.WebhookMessages.WithLabelValues("duplicate").Add(float64(sum.Duplicates))
		g.Metrics.WebhookMessages.WithLabelValues("status").Add(float64(sum.Statuses))
		g.Metrics.WebhookMessages.WithLabelValues("dead_letter").Add(float64(sum.Failed))
	}
	if err == nil && sum.Failed > 0 {
		g.Logger.Error("webhook items set aside as dead letters", "channel", ch.ID, "failed", sum.Failed)
	}
	return sum, err
}

// apply stores the parsed webhook in one transaction. Without isolate, the first item
// that fails aborts it with an itemError; with isolate, each item runs in a savepoint.
func (g *Ingester) apply(ctx context.Context, ch models.Channel, w *whatsapp.Webhook, body []byte, now time.Time, isolate bool) (Summary, error) {
	var sum Summary
	err := g.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Every statement of a delivery finds its rows by key, so the generic plan the
		// connection keeps is as good as one made for the values; without this,
		// PostgreSQL plans several of them again on every webhook (a third of a first
		// message's database time when one arrives at a time).
		if err := tx.Exec(`SET LOCAL plan_cache_mode = force_generic_plan`).Error; err != nil {
			return err
		}
		var dead []deadLetter
		channelsByNumber := map[string]int64{ch.PhoneNumberID: ch.ID}
		for _, e := range w.Entry {
			for _, c := range e.Changes {
				if c.Field != "" && c.Field != "messages" {
					sum.Skipped++
					continue
				}
				chID, ok, err := g.channelFor(tx, ch, c.Value.Metadata.PhoneNumberID, channelsByNumber)
				if err != nil {
					return err
				}
				if !ok {
					g.Logger.Warn("webhook for a number that is not connected in this workspace", "phone_number_id", c.Value.Metadata.PhoneNumberID)
					sum.Skipped += len(c.Value.Messages) + len(c.Value.Statuses)
					continue
				}
				if err := g.applyValue(ctx, tx, ch.WorkspaceID, chID, chID == ch.ID && ch.AutoLeadPipelineID == nil, c.Value, now, &sum, &dead, isolate); err != nil {
					return err
				}
			}
		}
		for _, d := range dead {
			if err := tx.Exec(`INSERT INTO webhook_dead_letters (workspace_id, channel_id, kind, item_id, payload, error, received_at,
					attempts, last_tried_at, next_retry_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
				ch.WorkspaceID, d.channelID, d.kind, d.itemID, d.payload, d.err, now, now, now.Add(RetryBackoff(1))).Error; err != nil {
				return err
			}
		}
		return tx.Exec(`INSERT INTO webhook_events (workspace_id, channel_id, received_at, body, messages, statuses, duplicates, failed)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, ch.WorkspaceID, ch.ID, now, body, sum.Messages, sum.Statuses, sum.Duplicates, sum.Failed).Error
	})
	return sum, err
}

// channelFor finds the channel of a change: Meta posts every number of an app to one
// callback, so a change may be for another number of the same workspace.
func (g *Ingester) channelFor(tx *gorm.DB, ch models.Channel, phoneNumberID string, cache map[string]int64) (int64, bool, error) {
	if phoneNumberID == "" {
		return ch.ID, true, nil
	}
	if id, ok := cache[phoneNumberID]; ok {
		return id, id != 0, nil
	}
	var id int64
	if err := tx.Model(&models.Channel{}).Where("workspace_id = ? AND phone_number_id = ?", ch.WorkspaceID, phoneNumberID).
		Pluck("id", &id).Error; err != nil {
		return 0, false, err
	}
	cache[phoneNumberID] = id
	return id, id != 0, nil
}

// itemError is an item that could not be applied (rolled back to its savepoint); any
// other error is the transaction's and fails the whole delivery.
type itemError struct{ err error }

func (e itemError) Error() string { return e.err.Error() }

// isolated runs fn inside a savepoint when isolate is set: when fn fails, only its
// work is undone and the failure comes back as an itemError. Without isolate, fn's
// failure is an itemError that aborts the transaction (the caller tries again isolated).
func isolated(tx *gorm.DB, isolate bool, fn func() error) error {
	if !isolate {
		if err := fn(); err != nil {
			return itemError{err}
		}
		return nil
	}
	if err := tx.Exec("SAVEPOINT webhook_item").Error; err != nil {
		return err
	}
	if err := fn(); err != nil {
		if rerr := tx.Exec("ROLLBACK TO SAVEPOINT webhook_item").Error; rerr != nil {
			return rerr
		}
		if rerr := tx.Exec("RELEASE SAVEPOINT webhook_item").Error; rerr != nil {
			return rerr
		}
		return itemError{err}
	}
	return tx.Exec("RELEASE SAVEPOINT webhook_item").Error
}

// sender is who wrote a message: a wa_id, a business-scoped user id, or both.
type sender struct {
	waID, userID, name, username, country string
}

// senders indexes the value's contacts by wa_id and by user id.
func senders(v whatsapp.Value) (byWa, byUser map[string]whatsapp.Contact) {
	byWa, byUser = map[string]whatsapp.Contact{}, map[string]whatsapp.Contact{}
	for _, c := range v.Contacts {
		if wa := whatsapp.NormalizeWaID(c.WaID); wa != "" {
			byWa[wa] = c
		}
		if u := strings.TrimSpace(c.UserID); u != "" {
			byUser[u] = c
		}
	}
	return byWa, byUser
}

func senderOf(m whatsapp.Message, v whatsapp.Value, byWa, byUser map[string]whatsapp.Contact) sender {
	s := sender{waID: whatsapp.NormalizeWaID(m.From), userID: strings.TrimSpace(m.FromUserID)}
	if s.waID == "" && s.userID == "" && len(v.Contacts) == 1 {
		s.waID, s.userID = whatsapp.NormalizeWaID(v.Contacts[0].WaID), strings.TrimSpace(v.Contacts[0].UserID)
	}
	c, ok := byWa[s.waID]
	if !ok || s.waID == "" {
		c, ok = byUser[s.userID]
	}
	if ok && s.userID != "" || ok && s.waID != "" {
		if s.userID == "" {
			s.userID = strings.TrimSpace(c.UserID)
		}
		if s.waID == "" {
			s.waID = whatsapp.NormalizeWaID(c.WaID)
		}
		s.name, s.username, s.country = c.Profile.Name, c.Profile.Username, c.Profile.CountryCode
	}
	return s
}

// noAutoLead: the channel creates no lead for new conversations (its cached row says
// so), so the inbox need not look.
func (g *Ingester) applyValue(ctx context.Context, tx *gorm.DB, wsID, chID int64, noAutoLead bool, v whatsapp.Value, now time.Time, sum *Summary, dead *[]deadLetter, isolate bool) error {
	// Rows are locked in a stable order (by sender, by wamid), so two batches with the
	// same customers in another order cannot deadlock; one customer's messages keep
	// their order.
	sort.SliceStable(v.Messages, func(i, j int) bool {
		a, b := v.Messages[i], v.Messages[j]
		if a.From != b.From {
			return a.From < b.From
		}
		return a.FromUserID < b.FromUserID
	})
	sort.SliceStable(v.Statuses, func(i, j int) bool { return v.Statuses[i].ID < v.Statuses[j].ID })
	byWa, byUser := senders(v)
	for _, m := range v.Messages {
		from := senderOf(m, v, byWa, byUser)
		err := isolated(tx, isolate, func() error {
			if m.ID == "" {
				return errors.New("el mensaje no trae id")
			}
			if from.waID == "" && from.userID == "" {
				return errors.New("el mensaje no trae remitente (ni número ni id de usuario)")
			}
			return g.applyMessage(ctx, tx, wsID, chID, noAutoLead, m, from, now, sum)
		})
		var ie itemError
		if errors.As(err, &ie) && isolate {
			sum.Failed++
			*dead = append(*dead, deadLetter{kind: "message", itemID: m.ID, err: describe(ie.err), channelID: chID, payload: messageItem(v, m)})
			continue
		}
		if err != nil {
			return err
		}
	}
	for _, st := range v.Statuses {
		err := isolated(tx, isolate, func() error {
			if st.ID == "" || st.Status == "" {
				return errors.New("el estado no trae id o estado")
			}
			return g.applyStatus(tx, wsID, chID, st, now)
		})
		var ie itemError
		if errors.As(err, &ie) && isolate {
			sum.Failed++
			*dead = append(*dead, deadLetter{kind: "status", itemID: st.ID, err: describe(ie.err), channelID: chID, payload: statusItem(v, st)})
			continue
		}
		if err != nil {
			return err
		}
		sum.Statuses++
	}
	for _, e := range v.Errors {
		g.Logger.Error("WhatsApp account error", "code", e.Code, "title", e.Title, "details", e.ErrorData.Details)
	}
	return nil
}

// describe words an item's failure for admins: what happened in Spanish, then the
// database's own message and code for whoever investigates.
func describe(err error) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	what := "La base de datos rechazó el elemento"
	switch {
	case pe.Code == "54000" || pe.Code == "22001":
		what = "Un valor es demasiado largo para guardarlo"
	case strings.HasPrefix(pe.Code, "22"):
		what = "Un valor no tiene un formato que la base de datos acepte"
	case strings.HasPrefix(pe.Code, "23"):
		what = "El elemento no cumple una regla de la base de datos"
	case pe.Code == "40001" || pe.Code == "40P01":
		what = "Chocó con otra entrega simultánea"
	case pe.Code == "57014":
		what = "La base de datos tardó demasiado"
	}
	return fmt.Sprintf("%s: %s (código %s)", what, pe.Message, pe.Code)
}

// messageItem is the dead letter of a message: a value holding it alone, with its
// sender's contact and the number it was sent to, enough to apply it again.
func messageItem(v whatsapp.Value, m whatsapp.Message) []byte {
	one := whatsapp.Value{MessagingProduct: v.MessagingProduct, Metadata: v.Metadata, Messages: []whatsapp.Message{m}}
	for _, c := range v.Contacts {
		if (c.WaID != "" && whatsapp.NormalizeWaID(c.WaID) == whatsapp.NormalizeWaID(m.From)) ||
			(c.UserID != "" && c.UserID == m.FromUserID) || len(v.Contacts) == 1 {
			one.Contacts = append(one.Contacts, c)
		}
	}
	b, _ := json.Marshal(one)
	return b
}

func statusItem(v whatsapp.Value, st whatsapp.Status) []byte {
	b, _ := json.Marshal(whatsapp.Value{MessagingProduct: v.MessagingProduct, Metadata: v.Metadata, Statuses: []whatsapp.Status{st}})
	return b
}

// applyMessage stores one customer message (or applies an edit or a number change).
func (g *Ingester) applyMessage(ctx context.Context, tx *gorm.DB, wsID, chID int64, noAutoLead bool, m whatsapp.Message, from sender, now time.Time, sum *Summary) error {
	in := Normalize(m)
	in.WorkspaceID, in.ChannelID, in.WaID, in.ProfileName = wsID, chID, from.waID, from.name
	in.NoAutoLead = noAutoLead
	in.UserID, in.Username, in.Country = from.userID, from.username, from.country
	in.At = whatsapp.ParseTimestamp(m.Timestamp, now)
	if m.Type == "edit" && m.Edit != nil {
		done, err := applyEdit(tx, chID, m, in)
		if err != nil || done {
			if done {
				sum.Messages++
			}
			return err
		}
	}
	r, err := g.Inbox.ReceiveInbound(ctx, tx, in)
	if err != nil {
		return err
	}
	if r.Duplicate {
		sum.Duplicates++
		return nil
	}
	sum.Messages++
	if in.MediaID != "" {
		md := mediaOf(m)
		if err := tx.Exec(`INSERT INTO media (workspace_id, channel_id, media_id, mime_type, sha256, filename)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id, media_id) DO NOTHING`,
			wsID, chID, in.MediaID, in.MediaMime, md.SHA256, md.Filename).Error; err != nil {
			return err
		}
	}
	if m.Type == "system" && m.System != nil {
		return applyNumberChange(tx, wsID, r.ContactID, r.ConversationID, *m.System, in.At)
	}
	return nil
}

// applyStatus records a delivery status once per (wamid, status) and moves the
// message forward only: queued < sent < delivered < read; failed is terminal.
func (g *Ingester) applyStatus(tx *gorm.DB, wsID, chID int64, st whatsapp.Status, now time.Time) error {
	status := whatsapp.NormalizeStatus(st.Status)
	if whatsapp.StatusRank(status) == 0 {
		g.Logger.Warn("unknown status skipped", "status", st.Status)
		return nil
	}
	at := whatsapp.ParseTimestamp(st.Timestamp, now)
	var code *int
	title, detail := "", ""
	if len(st.Errors) > 0 {
		e := st.Errors[0]
		code, title = &e.Code, e.Title
		detail = whatsapp.ErrorReasonES(e.Code, e.ErrorData.Details)
	}
	// The same lock the sender takes while it stores a wamid: the status either finds
	// the message or is found by the sender, never neither.
	if err := outbox.LockWamid(tx, chID, st.ID); err != nil {
		return err
	}
	recipient := whatsapp.NormalizeWaID(st.RecipientID)
	if recipient == "" {
		recipient = strings.TrimSpace(st.RecipientUserID) // a customer known only by a username
	}
	res := tx.Exec(`INSERT INTO message_statuses (workspace_id, channel_id, wamid, status, at, error_code, recipient) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, wsID, chID, st.ID, status, at, code, recipient)
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error // a duplicate status changes nothing
	}
	var hit []struct {
		ID             int64
		ConversationID int64
		TeamID         *int64
		AssigneeID     *int64
		ConvStatus     string
	}
	update := func() error {
		return tx.Raw(`UPDATE messages m SET status = ?, status_at = ?,
				error_code = COALESCE(?, m.error_code), error_title = CASE WHEN ? <> '' THEN ? ELSE m.error_title END,
				error_detail = CASE WHEN ? <> '' THEN ? ELSE m.error_detail END
			FROM conversations c
			WHERE c.id = m.conversation_id AND m.channel_id = ? AND m.wamid = ? AND `+rankSQL("m.status")+` < ?
			RETURNING m.id, m.conversation_id, c.team_id, c.assignee_id, c.status AS conv_status`,
			status, at, code, title, title, detail, detail, chID, st.ID, whatsapp.StatusRank(status)).Scan(&hit).Error
	}
	if err := update(); err != nil {
		return err
	}
	if len(hit) == 0 {
		var exists int64
		if err := tx.Model(&models.Message{}).Where("channel_id = ? AND wamid = ?", chID, st.ID).Count(&exists).Error; err != nil {
			return err
		}
		if exists == 0 {
			// A send whose answer we never got (timeout): the status tells us its wamid.
			adopted, err := outbox.AdoptStatus(tx, chID, recipient, st.ID)
			if err != nil {
				return err
			}
			if adopted {
				// Adoption applied the recorded statuses (this one included): find the message to refresh its ticks.
				if err := tx.Raw(`SELECT m.id, m.conversation_id, c.team_id, c.assignee_id, c.status AS conv_status
					FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.channel_id = ? AND m.wamid = ?`, chID, st.ID).Scan(&hit).Error; err != nil {
					return err
				}
			}
		}
	}
	for _, h := range hit {
		// Routed like every conversation event (only those who see it hear of it); the
		// delivery status travels in Text, Status stays the conversation's column.
		if err := live.Publish(tx, live.Event{Kind: "delivery", WorkspaceID: wsID, ConversationID: h.ConversationID, Status: h.ConvStatus,
			TeamID: h.TeamID, AssigneeID: h.AssigneeID, PrevTeamID: h.TeamID, PrevAssigneeID: h.AssigneeID, Text: status,
			ClosedSame: true, PrevStatus: h.ConvStatus}); err != nil {
			return err
		}
	}
	return nil
}

var rankSQL = whatsapp.StatusRankSQL

func mediaOf(m whatsapp.Message) whatsapp.Media {
	for _, p := range []*whatsapp.Media{m.Image, m.Video, m.Audio, m.Document, m.Sticker} {
		if p != nil {
			return *p
		}
	}
	return whatsapp.Media{}
}

// Normalize maps a webhook message onto the inbox's Inbound (kind, body, data). The
// parser has already cleaned every string; this cleans again for callers that build
// messages themselves.
func Normalize(m whatsapp.Message) inbox.Inbound {
	in := normalize(m)
	in.Body = whatsapp.CleanString(in.Body)
	in.Data, in.Referral = whatsapp.CleanJSON(in.Data), whatsapp.CleanJSON(in.Referral)
	return in
}

// MissingInteractive is what agents read when a customer answered a button or list
// but WhatsApp did not deliver the answer (error 131000).
const MissingInteractive = "El cliente respondió un mensaje interactivo que WhatsApp no nos entregó"

func normalize(m whatsapp.Message) inbox.Inbound {
	in := inbox.Inbound{Wamid: m.ID, Kind: m.Type, Referral: m.Referral}
	data := map[string]any{}
	switch m.Type {
	case "text":
		if m.Text != nil {
			in.Body = m.Text.Body
		}
	case "image", "video", "audio", "document", "sticker":
		md := mediaOf(m)
		in.MediaID, in.MediaMime, in.Body = md.ID, md.MimeType, md.Caption
		if md.Filename != "" {
			data["filename"] = md.Filename
		}
		if md.Voice {
			data["voice"] = true
		}
		if md.Animated {
			data["animated"] = true
		}
	case "location":
		if l := m.Location; l != nil {
			data["latitude"], data["longitude"] = l.Latitude, l.Longitude
			data["name"], data["address"] = l.Name, l.Address
			in.Body = strings.TrimSpace(strings.Trim(l.Name+" · "+l.Address, " ·"))
			if in.Body == "" { // no name, no address: the coordinates say where
				in.Body = strconv.FormatFloat(l.Latitude, 'f', 5, 64) + ", " + strconv.FormatFloat(l.Longitude, 'f', 5, 64)
			}
		}
	case "interactive":
		if i := m.Interactive; i == nil || (i.ButtonReply == nil && i.ListReply == nil) {
			data["missing"] = true
			if len(m.Errors) > 0 {
				data["error_code"] = m.Errors[0].Code
			}
			in.Body = MissingInteractive
		} else {
			data["type"] = i.Type
			if i.ButtonReply != nil {
				data["id"], data["title"] = i.ButtonReply.ID, i.ButtonReply.Title
				in.Body = i.ButtonReply.Title
			}
			if i.ListReply != nil {
				data["id"], data["title"], data["description"] = i.ListReply.ID, i.ListReply.Title, i.ListReply.Description
				in.Body = i.ListReply.Title
			}
		}
	case "button":
		if b := m.Button; b != nil {
			data["payload"] = b.Payload
			in.Body = b.Text
		}
	case "reaction":
		if r := m.Reaction; r != nil {
			data["message_id"], data["emoji"] = r.MessageID, r.Emoji
			in.ContextWamid = r.MessageID
			in.Body = r.Emoji
		}
	case "contacts":
		data["contacts"] = m.Contacts
		in.Body = sharedContactNames(m.Contacts)
	case "order":
		data["order"] = m.Order
		var o struct {
			Text string `json:"text"`
		}
		if json.Unmarshal(m.Order, &o) == nil {
			in.Body = strings.TrimSpace(o.Text) // the customer's note
		}
	case "system":
		if s := m.System; s != nil {
			in.Body = s.Body
			data["type"] = s.Type
			if nw := newNumber(*s); nw != "" {
				data["new_wa_id"] = nw
				in.Body = "El cliente cambió su número de WhatsApp a " + readable(nw) + ": las respuestas van al número nuevo."
				if old := whatsapp.NormalizeWaID(m.From); old != "" {
					data["old_wa_id"] = old
					in.Body = "El cliente cambió su número de WhatsApp de " + readable(old) + " a " + readable(nw) + ": las respuestas van al número nuevo."
				}
			}
		}
	case "edit":
		// The edited message arrives whole: shown as what it now says. applyEdit puts it
		// on the original when that is in the history; otherwise it is stored as is.
		if e := m.Edit; e != nil && e.Message != nil {
			inner := *e.Message
			if inner.Type == "" {
				inner.Type = "text"
			}
			in2 := normalize(inner)
			in.Kind, in.Body, in.MediaID, in.MediaMime = in2.Kind, in2.Body, in2.MediaID, in2.MediaMime
			if len(in2.Data) > 0 {
				_ = json.Unmarshal(in2.Data, &data)
			}
			data["edited"] = true
			data["original_message_id"] = e.OriginalMessageID
		} else {
			in.Kind = models.KindUnsupported
			in.Body = "El cliente editó un mensaje, pero WhatsApp no envió el texto nuevo."
		}
	default:
		in.Kind = models.KindUnsupported
		data["type"] = m.Type
		if len(m.Unsupported) > 0 {
			data["unsupported"] = m.Unsupported
		}
		errs := m.Errors
		if len(errs) > 0 {
			data["error_code"] = errs[0].Code
			in.Body = whatsapp.ErrorReasonES(errs[0].Code, errs[0].ErrorData.Details)
		} else {
			in.Body = "Este tipo de mensaje no se puede mostrar aquí; ábrelo en WhatsApp."
		}
	}
	if c := m.Context; c != nil {
		if c.ID != "" && m.Type != "reaction" {
			in.ContextWamid = c.ID
		}
		if c.Forwarded {
			data["forwarded"] = true
		}
		if c.FrequentlyForwarded {
			data["frequently_forwarded"] = true
		}
	}
	if len(m.Referral) > 0 {
		data["referral"] = m.Referral
	}
	if len(data) > 0 {
		in.Data, _ = json.Marshal(data)
	}
	return in
}

// readable writes a wa_id as people read a number ("+51 987 654 321").
func readable(waID string) string {
	e164, _ := phone.FromWaID(waID)
	if e164 == "" {
		e164 = "+" + waID
	}
	return phone.Format(e164)
}

// newNumber is the number a customer changed to: "wa_id" in current payloads,
// "new_wa_id" in older ones.
func newNumber(s whatsapp.System) string {
	if s.Type != "" && s.Type != "user_changed_number" {
		return ""
	}
	if n := whatsapp.NormalizeWaID(s.WaID); n != "" {
		return n
	}
	return whatsapp.NormalizeWaID(s.NewWaID)
}

// applyNumberChange moves the contact to the number it changed to, so the next reply
// goes there. When another contact already has that number, the contact keeps its
// own (the system message in the history still says what happened).
func applyNumberChange(tx *gorm.DB, wsID, contactID, convID int64, s whatsapp.System, at time.Time) error {
	nw := newNumber(s)
	if nw == "" || contactID == 0 {
		return nil
	}
	e164, country := phone.FromWaID(nw)
	res := tx.Exec(`UPDATE contacts SET wa_id = ?, phone = ?, country = ?, updated_at = ?
		WHERE id = ? AND workspace_id = ? AND wa_id <> ?
		  AND NOT EXISTS (SELECT 1 FROM contacts o WHERE o.workspace_id = ? AND o.wa_id = ? AND o.id <> ?)`,
		nw, e164, country, at, contactID, wsID, nw, wsID, nw, contactID)
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error
	}
	// The number shows on the cards of all the contact's conversations, in any column:
	// a change that names no column moves them all.
	var c struct {
		Status             string
		TeamID, AssigneeID *int64
	}
	if err := tx.Raw(`SELECT status, team_id, assignee_id FROM conversations WHERE id = ?`, convID).Scan(&c).Error; err != nil {
		return err
	}
	return live.Publish(tx, live.Event{Kind: "contact", WorkspaceID: wsID, ConversationID: convID, Status: c.Status,
		TeamID: c.TeamID, AssigneeID: c.AssigneeID, PrevTeamID: c.TeamID, PrevAssigneeID: c.AssigneeID})
}

// applyEdit puts an edited message's new content on the original, keeping what it said
// before in data.previous_bodies (shown on hover). It reports false when the original
// is not in the history (the edit is then stored as a message of its own).
func applyEdit(tx *gorm.DB, chID int64, m whatsapp.Message, in inbox.Inbound) (bool, error) {
	var orig struct {
		ID   int64
		Body string
		Data []byte
	}
	if err := tx.Raw(`SELECT id, body, data FROM messages WHERE channel_id = ? AND wamid = ? AND direction = 'in' FOR UPDATE`,
		chID, m.Edit.OriginalMessageID).Find(&orig).Error; err != nil || orig.ID == 0 {
		return false, err
	}
	data := map[string]any{}
	if len(orig.Data) > 0 {
		_ = json.Unmarshal(orig.Data, &data)
	}
	seen, _ := data["edit_ids"].([]any)
	for _, id := range seen {
		if id == m.ID {
			return true, nil // a retry of an edit already applied
		}
	}
	prev, _ := data["previous_bodies"].([]any)
	data["previous_bodies"] = append(prev, orig.Body)
	data["edit_ids"] = append(seen, m.ID)
	data["edited_at"] = in.At
	b, err := json.Marshal(data)
	if err != nil {
		return false, err
	}
	return true, tx.Exec(`UPDATE messages SET body = ?, data = ? WHERE id = ?`, in.Body, b, orig.ID).Error
}

// RetryBackoff is how long a dead letter waits after its n-th failed attempt: a
// minute, doubling, at most six hours; retried for 7 days from its arrival.
func RetryBackoff(attempt int) time.Duration {
	return min(time.Minute<<min(max(attempt-1, 0), 20), 6*time.Hour)
}

func sharedContactNames(raw json.RawMessage) string {
	var cs []struct {
		Name struct {
			FormattedName string `json:"formatted_name"`
		} `json:"name"`
	}
	if json.Unmarshal(raw, &cs) != nil {
		return ""
	}
	var names []string
	for _, c := range cs {
		if c.Name.FormattedName != "" {
			names = append(names, c.Name.FormattedName)
		}
	}
	return strings.Join(names, ", ")
}

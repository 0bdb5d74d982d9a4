// Package ingest turns a verified WhatsApp webhook into stored messages and
// statuses: the raw body is kept, every item of the batch is applied in one
// transaction, and duplicates (Meta retries for days) change nothing.
package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/app/metrics"
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
}

// Apply stores body (already signature-checked for channel ch) and everything in it.
// It returns only after the transaction has committed.
func (g *Ingester) Apply(ctx context.Context, ch models.Channel, body []byte) (Summary, error) {
	var sum Summary
	w, err := whatsapp.Parse(body)
	if err != nil {
		return sum, err
	}
	now := g.Clock.Now()
	err = g.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO webhook_events (workspace_id, channel_id, received_at, body) VALUES (?, ?, ?, ?)`,
			ch.WorkspaceID, ch.ID, now, body).Error; err != nil {
			return err
		}
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
				if err := g.applyValue(ctx, tx, ch.WorkspaceID, chID, chID == ch.ID && ch.AutoLeadPipelineID == nil, c.Value, now, &sum); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if g.Inbox != nil {
		g.Inbox.Changed(ch.WorkspaceID)
	}
	if err == nil && g.Metrics != nil {
		g.Metrics.WebhookMessages.WithLabelValues("message").Add(float64(sum.Messages))
		g.Metrics.WebhookMessages.WithLabelValues("duplicate").Add(float64(sum.Duplicates))
		g.Metrics.WebhookMessages.WithLabelValues("status").Add(float64(sum.Statuses))
	}
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

func (g *Ingester) applyValue(ctx context.Context, tx *gorm.DB, wsID, chID int64, noAutoLead bool, v whatsapp.Value, now time.Time, sum *Summary) error {
	// Rows are locked in a stable order (by sender, by wamid), so two batches with the
	// same customers in another order cannot deadlock; one customer's messages keep
	// their order.
	sort.SliceStable(v.Messages, func(i, j int) bool { return v.Messages[i].From < v.Messages[j].From })
	sort.SliceStable(v.Statuses, func(i, j int) bool { return v.Statuses[i].ID < v.Statuses[j].ID })
	names := map[string]string{}
	for _, c := range v.Contacts {
		names[whatsapp.NormalizeWaID(c.WaID)] = clean(c.Profile.Name)
	}
	for _, m := range v.Messages {
		from := whatsapp.NormalizeWaID(m.From)
		if from == "" && len(v.Contacts) == 1 {
			from = whatsapp.NormalizeWaID(v.Contacts[0].WaID)
		}
		if from == "" {
			g.Logger.Warn("webhook message without sender skipped", "wamid", m.ID)
			sum.Skipped++
			continue
		}
		in := Normalize(m)
		in.WorkspaceID, in.ChannelID, in.WaID, in.ProfileName = wsID, chID, from, names[from]
		in.NoAutoLead = noAutoLead
		in.At = whatsapp.ParseTimestamp(m.Timestamp, now)
		r, err := g.Inbox.ReceiveInbound(ctx, tx, in)
		if err != nil {
			return fmt.Errorf("message %s: %w", m.ID, err)
		}
		if r.Duplicate {
			sum.Duplicates++
			continue
		}
		sum.Messages++
		if in.MediaID != "" {
			if err := tx.Exec(`INSERT INTO media (workspace_id, channel_id, media_id, mime_type, sha256, filename)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id, media_id) DO NOTHING`,
				wsID, chID, in.MediaID, in.MediaMime, mediaOf(m).SHA256, mediaOf(m).Filename).Error; err != nil {
				return err
			}
		}
	}
	for _, st := range v.Statuses {
		if err := g.applyStatus(tx, wsID, chID, st, now); err != nil {
			return fmt.Errorf("status %s: %w", st.ID, err)
		}
		sum.Statuses++
	}
	for _, e := range v.Errors {
		g.Logger.Error("WhatsApp account error", "code", e.Code, "title", e.Title, "details", e.ErrorData.Details)
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
	res := tx.Exec(`INSERT INTO message_statuses (workspace_id, channel_id, wamid, status, at, error_code) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, wsID, chID, st.ID, status, at, code)
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
			adopted, err := outbox.AdoptStatus(tx, chID, whatsapp.NormalizeWaID(st.RecipientID), st.ID)
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
			TeamID: h.TeamID, AssigneeID: h.AssigneeID, PrevTeamID: h.TeamID, PrevAssigneeID: h.AssigneeID, Text: status}); err != nil {
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

// clean removes NUL characters, which PostgreSQL text and jsonb refuse: one would
// fail the whole batch on every one of Meta's retries.
func clean(s string) string { return strings.ReplaceAll(s, "\x00", "") }

// Normalize maps a webhook message onto the inbox's Inbound (kind, body, data).
func Normalize(m whatsapp.Message) inbox.Inbound {
	in := normalize(m)
	in.Body = clean(in.Body)
	in.Data, in.Referral = cleanJSON(in.Data), cleanJSON(in.Referral)
	return in
}

// cleanJSON removes NUL characters from every string inside a JSON value.
func cleanJSON(b json.RawMessage) json.RawMessage {
	if !bytes.Contains(b, []byte(`\u0000`)) {
		return b
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	var walk func(any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case string:
			return clean(t)
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
		case map[string]any:
			out := make(map[string]any, len(t))
			for k, val := range t {
				out[clean(k)] = walk(val)
			}
			return out
		}
		return x
	}
	out, _ := json.Marshal(walk(v))
	return out
}

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
		}
	case "interactive":
		if i := m.Interactive; i != nil {
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
	case "system":
		if s := m.System; s != nil {
			in.Body = s.Body
			data["type"], data["new_wa_id"] = s.Type, s.NewWaID
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

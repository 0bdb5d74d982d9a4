// Package whatsapp speaks the WhatsApp Cloud API: webhook payloads and their
// signatures, Graph API request bodies, and error codes.
package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// VerifySignature checks X-Hub-Signature-256 ("sha256=<hex>") over the raw body, in
// constant time. Any malformed header is a mismatch.
func VerifySignature(appSecret, body []byte, header string) bool {
	if len(appSecret) == 0 {
		return false // a channel without its app secret (imported history) accepts no webhook
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, appSecret)
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), got)
}

// Sign returns the X-Hub-Signature-256 header value for body (fake-meta, simulate, tests).
func Sign(appSecret, body []byte) string {
	mac := hmac.New(sha256.New, appSecret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Webhook is the top level of a webhook POST body.
type Webhook struct {
	Object string  `json:"object"`
	Entry  []Entry `json:"entry"`
}

// Entry is one WhatsApp Business Account's batch.
type Entry struct {
	ID      string   `json:"id"`
	Changes []Change `json:"changes"`
}

// Change is one field update; Atiende reads field "messages".
type Change struct {
	Field string `json:"field"`
	Value Value  `json:"value"`
}

// Value carries messages, statuses or errors for one phone number.
type Value struct {
	MessagingProduct string    `json:"messaging_product"`
	Metadata         Metadata  `json:"metadata"`
	Contacts         []Contact `json:"contacts"`
	Messages         []Message `json:"messages"`
	Statuses         []Status  `json:"statuses"`
	Errors           []Error   `json:"errors"`
}

// Metadata identifies the business number the change is for.
type Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

// Contact is the customer's profile as WhatsApp shows it.
type Contact struct {
	Profile struct {
		Name        string `json:"name"`
		Username    string `json:"username,omitempty"`
		CountryCode string `json:"country_code,omitempty"`
	} `json:"profile"`
	WaID string `json:"wa_id"`
	// UserID is the business-scoped user id ("user.…", "US.…"): the only identifier
	// of a customer who uses a WhatsApp username and hides the phone number.
	UserID string `json:"user_id,omitempty"`
}

// Message is one inbound message. Type-specific parts keep their raw JSON in the
// named fields so nothing Meta sends is lost.
type Message struct {
	From        string          `json:"from"`
	FromUserID  string          `json:"from_user_id,omitempty"`
	ID          string          `json:"id"`
	Timestamp   string          `json:"timestamp"`
	Type        string          `json:"type"`
	Text        *Text           `json:"text,omitempty"`
	Image       *Media          `json:"image,omitempty"`
	Video       *Media          `json:"video,omitempty"`
	Audio       *Media          `json:"audio,omitempty"`
	Document    *Media          `json:"document,omitempty"`
	Sticker     *Media          `json:"sticker,omitempty"`
	Location    *Location       `json:"location,omitempty"`
	Interactive *Interactive    `json:"interactive,omitempty"`
	Button      *Button         `json:"button,omitempty"`
	Reaction    *Reaction       `json:"reaction,omitempty"`
	Contacts    json.RawMessage `json:"contacts,omitempty"`
	Order       json.RawMessage `json:"order,omitempty"`
	System      *System         `json:"system,omitempty"`
	Edit        *Edit           `json:"edit,omitempty"`
	Context     *Context        `json:"context,omitempty"`
	Referral    json.RawMessage `json:"referral,omitempty"`
	Errors      []Error         `json:"errors,omitempty"`
	Unsupported json.RawMessage `json:"unsupported,omitempty"`
}

// Text is a text message body.
type Text struct {
	Body string `json:"body"`
}

// Media is an image, video, audio, document or sticker reference.
type Media struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	Voice    bool   `json:"voice,omitempty"`
	Animated bool   `json:"animated,omitempty"`
	URL      string `json:"url,omitempty"`
}

// Location is a shared location.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// Interactive is a reply to a button or list message.
type Interactive struct {
	Type        string `json:"type"`
	ButtonReply *struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"button_reply,omitempty"`
	ListReply *struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description,omitempty"`
	} `json:"list_reply,omitempty"`
}

// Button is a quick-reply button press on a template.
type Button struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

// Reaction is an emoji on an earlier message; an empty emoji removes it.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// System is a system notice (e.g. the customer changed number).
type System struct {
	Body    string `json:"body"`
	Type    string `json:"type"`
	WaID    string `json:"wa_id,omitempty"`
	NewWaID string `json:"new_wa_id,omitempty"`
}

// Edit carries the new content of a message the customer edited.
type Edit struct {
	OriginalMessageID string   `json:"original_message_id"`
	Message           *Message `json:"message,omitempty"`
}

// Context links a message to the one it replies to or marks it as forwarded.
type Context struct {
	From                string `json:"from,omitempty"`
	ID                  string `json:"id,omitempty"`
	Forwarded           bool   `json:"forwarded,omitempty"`
	FrequentlyForwarded bool   `json:"frequently_forwarded,omitempty"`
}

// Status is a delivery status update for a message we sent.
type Status struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Timestamp   string `json:"timestamp"`
	RecipientID string `json:"recipient_id"`
	// RecipientUserID is the business-scoped user id of a recipient without a phone.
	RecipientUserID string          `json:"recipient_user_id,omitempty"`
	Pricing         json.RawMessage `json:"pricing,omitempty"`
	Errors          []Error         `json:"errors,omitempty"`
}

// Error is Meta's error object, in webhooks and Graph responses.
type Error struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
	Href string `json:"href,omitempty"`
}

// ErrBadPayload wraps every reason a body is not a webhook we can read.
var ErrBadPayload = errors.New("bad webhook payload")

// Parse decodes a webhook body. It never panics; it rejects what is not JSON or not a
// WhatsApp Business Account webhook. Every string is cleaned on the way in (NUL removed,
// invalid UTF-8 replaced), so nothing PostgreSQL refuses gets further; an item without
// an id is kept for the caller to set aside, not a reason to refuse the whole batch.
func Parse(body []byte) (*Webhook, error) {
	var w Webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if w.Object != "whatsapp_business_account" {
		return nil, fmt.Errorf("%w: object %q is not whatsapp_business_account", ErrBadPayload, w.Object)
	}
	CleanStrings(&w)
	return &w, nil
}

// ParseTimestamp reads Meta's Unix-seconds string; a missing or bad one yields fallback.
func ParseTimestamp(s string, fallback time.Time) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return fallback
	}
	return time.Unix(n, 0).UTC()
}

// NormalizeWaID strips a leading "+" and spaces from a WhatsApp id.
func NormalizeWaID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "+")
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
}

// StatusRankSQL is StatusRank in SQL for column col, so that "only forward" holds under
// concurrent updates, not just in the Go that computed the update. Ingestion and the
// outbox both use it: one order of delivery statuses.
func StatusRankSQL(col string) string {
	return "(CASE " + col + " WHEN 'queued' THEN 1 WHEN 'sent' THEN 2 WHEN 'delivered' THEN 3 WHEN 'read' THEN 4 WHEN 'played' THEN 4 WHEN 'failed' THEN 5 ELSE 0 END)"
}

// StatusRank orders delivery statuses; a status only ever moves to a higher rank.
// "played" (voice notes) counts as read; "failed" is terminal.
func StatusRank(s string) int {
	switch s {
	case "queued":
		return 1
	case "sent":
		return 2
	case "delivered":
		return 3
	case "read", "played":
		return 4
	case "failed":
		return 5
	}
	return 0
}

// NormalizeStatus maps Meta's status names to Atiende's (played -> read).
func NormalizeStatus(s string) string {
	if s == "played" {
		return "read"
	}
	return s
}

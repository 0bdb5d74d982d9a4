package models

import (
	"time"
)

// Conversation statuses: the four columns of the board.
const (
	StatusNew     = "new"
	StatusActive  = "active"
	StatusPending = "pending"
	StatusClosed  = "closed"
)

// Message directions and sender types.
const (
	DirectionIn  = "in"
	DirectionOut = "out"

	SenderContact = "contact"
	SenderAgent   = "agent"
	SenderSystem  = "system"
)

// Message kinds.
const (
	KindText        = "text"
	KindImage       = "image"
	KindAudio       = "audio"
	KindVideo       = "video"
	KindDocument    = "document"
	KindSticker     = "sticker"
	KindLocation    = "location"
	KindContacts    = "contacts"
	KindInteractive = "interactive"
	KindButton      = "button"
	KindReaction    = "reaction"
	KindOrder       = "order"
	KindSystem      = "system"
	KindTemplate    = "template"
	KindUnsupported = "unsupported"
	KindNote        = "note"
	KindActivity    = "activity"
)

// Delivery statuses of outbound messages, in the order they may advance.
const (
	DeliveryQueued    = "queued"
	DeliverySent      = "sent"
	DeliveryDelivered = "delivered"
	DeliveryRead      = "read"
	DeliveryFailed    = "failed"
)

// Channel is one WhatsApp number connected through the Cloud API.
type Channel struct {
	ID             int64
	WorkspaceID    int64
	Name           string
	PhoneNumberID  string
	DisplayPhone   string
	WabaID         string
	AccessTokenEnc []byte `json:"-"`
	AppSecretEnc   []byte `json:"-"`
	VerifyTokenEnc []byte `json:"-"`
	WebhookKey     string
	Active         bool
	// AutoLeadPipelineID: a new conversation on this channel opens a lead in this
	// pipeline's first stage (nil: off).
	AutoLeadPipelineID *int64
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// WebhookPath is where Meta must post this channel's webhooks.
func (c Channel) WebhookPath() string { return "/webhooks/whatsapp/" + c.WebhookKey }

// WebhookEvent is a webhook body exactly as received.
type WebhookEvent struct {
	ID          int64
	WorkspaceID int64
	ChannelID   int64
	ReceivedAt  time.Time
	Body        []byte
}

// Contact is a customer reached over WhatsApp.
type Contact struct {
	ID          int64
	WorkspaceID int64
	WaID        string `gorm:"column:wa_id"`
	// UserID is WhatsApp's business-scoped user id; a customer with a username may
	// have only this (WaID and Phone empty).
	UserID      string
	Username    string
	Phone       string
	Country     string
	Name        string
	ProfileName string
	Company     string
	Email       string
	OwnerID     *int64
	Custom      JSON
	Referral    JSON
	CompanyID   *int64 // the company (contacts.company keeps its name in sync)
	Notes       string
	CreatedAt   time.Time
	UpdatedAt   time.Time

	// Associations (Preload).
	Owner         *User          `json:"-"`
	Conversations []Conversation `json:"-"`
}

// DisplayName is the name to show: the one an agent set, the WhatsApp profile name,
// the number, and for a customer without one, the username or the user id.
func (c Contact) DisplayName() string {
	switch {
	case c.Name != "":
		return c.Name
	case c.ProfileName != "":
		return c.ProfileName
	case c.Phone != "":
		return c.Phone
	case c.WaID != "":
		return "+" + c.WaID
	case c.Username != "":
		return "@" + c.Username
	}
	return c.UserID
}

// Label is a coloured tag for conversations.
type Label struct {
	ID          int64
	WorkspaceID int64
	Name        string
	Color       string
	CreatedAt   time.Time
}

// Conversation is the thread between one channel and one contact: a card on the board.
type Conversation struct {
	ID                 int64
	WorkspaceID        int64
	ChannelID          int64
	ContactID          int64
	Status             string
	TeamID             *int64
	AssigneeID         *int64
	CycleID            *int64
	LastMessageAt      *time.Time
	LastMessagePreview string
	LastMessageOut     bool
	LastInboundAt      *time.Time
	WaitingSince       *time.Time
	UnreadCount        int
	CloseReason        string
	ClosedAt           *time.Time
	FirstResponseDueAt *time.Time
	NextResponseDueAt  *time.Time
	ResolutionDueAt    *time.Time
	SLAState           string `gorm:"column:sla_state"`
	// The SLA clocks' warning times, the thresholds the "sla" job announced (app/sla
	// bits) and the earliest one it has not yet announced (its index).
	FirstResponseWarnAt *time.Time
	NextResponseWarnAt  *time.Time
	ResolutionWarnAt    *time.Time
	SLANotified         int        `gorm:"column:sla_notified"`
	SLANextCheckAt      *time.Time `gorm:"column:sla_next_check_at"`
	// Priority is set by a routing rule or by hand: "", low, normal, high, urgent.
	Priority  string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Routing's state in the open cycle (app/routing): MenuState "waiting" while the
	// welcome menu waits for an answer (MenuAttempts unclear answers so far); AwayCycleID
	// is the cycle whose away message was sent.
	MenuState    string
	MenuAttempts int
	AwayCycleID  *int64
	// CycleReplied is read with the locked row by the engine (not a column): whether
	// the open cycle already has an agent reply. Nil when it was not read.
	CycleReplied *bool `gorm:"->;column:cycle_replied"`

	// Associations (loaded with Preload when a caller needs them; never saved through).
	Contact  *Contact `json:"-"`
	Channel  *Channel `json:"-"`
	Team     *Team    `json:"-"`
	Assignee *User    `json:"-"`
	Cycles   []Cycle  `json:"-"`
}

// ConversationLabel links a label to a conversation.
type ConversationLabel struct {
	WorkspaceID    int64
	ConversationID int64 `gorm:"primaryKey"`
	LabelID        int64 `gorm:"primaryKey"`
}

// Cycle is one stretch of a conversation from the opening customer message to the close.
type Cycle struct {
	ID               int64
	WorkspaceID      int64
	ConversationID   int64
	OpenedAt         time.Time
	OpenedBy         string
	ClosedAt         *time.Time
	CloseReason      string
	TeamID           *int64
	AssigneeID       *int64
	FirstReplyAt     *time.Time
	FirstReplyUserID *int64
	Transferred      bool
	// The SLA clocks' working state: the pending span running now, the closed ones in
	// wall and in business seconds, and the open next-response wait.
	PendingSince           *time.Time
	PendingSeconds         float64
	PendingBusinessSeconds float64
	NextWaitSince          *time.Time

	// Associations (Preload).
	Conversation   *Conversation `json:"-"`
	Team           *Team         `json:"-"`
	Assignee       *User         `json:"-"`
	FirstReplyUser *User         `json:"-"`
}

// ConversationEvent is one structured event (status move, assignment, transfer…).
type ConversationEvent struct {
	ID             int64
	WorkspaceID    int64
	ConversationID int64
	CycleID        *int64
	Kind           string
	At             time.Time
	ActorKind      string
	ActorID        *int64
	FromStatus     string
	ToStatus       string
	FromTeamID     *int64
	ToTeamID       *int64
	FromUserID     *int64
	ToUserID       *int64
	Note           string
}

// Message is one item of a conversation's history: WhatsApp messages both ways,
// internal notes and activity lines.
type Message struct {
	ID             int64
	WorkspaceID    int64
	ConversationID int64
	CycleID        *int64
	ChannelID      int64
	Direction      string
	Kind           string
	Body           string
	Private        bool
	Automatic      bool
	Wamid          *string
	SenderType     string
	SenderUserID   *int64
	Status         string
	ErrorCode      *int
	ErrorTitle     string
	ErrorDetail    string
	MediaID        string
	MediaMime      string
	Data           JSON
	ContextWamid   string
	EventID        *int64
	CreatedAt      time.Time
	InsertedAt     time.Time `gorm:"->"`
	StatusAt       *time.Time
}

// MessageStatus is one status webhook, kept once per (wamid, status).
type MessageStatus struct {
	WorkspaceID int64
	ChannelID   int64  `gorm:"primaryKey"`
	Wamid       string `gorm:"primaryKey"`
	Status      string `gorm:"primaryKey"`
	At          time.Time
	ErrorCode   *int
	Recipient   string
}

// Media is a file received over WhatsApp, fetched from the Graph API and kept.
type Media struct {
	ID          int64
	WorkspaceID int64
	ChannelID   int64
	MediaID     string
	MimeType    string
	SHA256      string `gorm:"column:sha256"`
	Filename    string
	Size        int64
	Data        []byte
	FetchedAt   *time.Time
	Error       string
	CreatedAt   time.Time
	// UploadID is the Graph API's id for a file an agent sent, once uploaded.
	UploadID string
	// Outgoing: an agent sent this file (customers' files are fetched from Meta).
	Outgoing bool
}

// TableName: "media" is already plural.
func (Media) TableName() string { return "media" }

// Outbox is one pending or finished request to the Graph API.
type Outbox struct {
	ID            int64
	WorkspaceID   int64
	ChannelID     int64
	MessageID     *int64
	Kind          string
	Recipient     string
	Payload       JSON
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastCode      *int
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// MediaRowID is the file the sender uploads before sending (attachments).
	MediaRowID *int64
}

// TableName: the outbox is one table.
func (Outbox) TableName() string { return "outbox" }

// Template is an approved WhatsApp message template registered by an admin.
type Template struct {
	ID          int64
	WorkspaceID int64
	Name        string
	Language    string
	Category    string
	Body        string
	CreatedAt   time.Time
	// WabaID is the WhatsApp Business Account the template was synchronised from ("" when
	// an admin registered it by hand); MetaID is Meta's id for it.
	WabaID     string
	MetaID     string
	Status     string `gorm:"default:approved"` // approved, pending, rejected, paused, disabled…
	Components JSON   // Meta's components (header, body, footer, buttons) as synchronised
	SyncedAt   *time.Time
}

// CannedResponse is a saved reply agents insert with "/".
type CannedResponse struct {
	ID          int64
	WorkspaceID int64
	Shortcut    string
	Title       string
	Body        string
	CreatedAt   time.Time
}

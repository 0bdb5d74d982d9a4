package models

import "time"

// Scheduled message states.
const (
	ScheduledPending   = "scheduled"
	ScheduledSent      = "sent"
	ScheduledHeld      = "held"
	ScheduledCancelled = "cancelled"
	ScheduledFailed    = "failed"
)

// ScheduledMessage is a reply an agent wrote to go out at SendAt.
type ScheduledMessage struct {
	ID             int64
	WorkspaceID    int64
	ConversationID int64
	UserID         *int64
	Body           string
	SendAt         time.Time
	State          string
	MessageID      *int64
	Note           string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Package outbox sends what Atiende says on WhatsApp: rows written to the outbox table
// in the same transaction as the message they carry, claimed by any number of sender
// processes with FOR UPDATE SKIP LOCKED, and sent to the Graph API at most once each.
//
// A send whose answer never came (timeout, reset) may have reached the customer, so it
// is never repeated: the row turns "ambiguous" until a status webhook for an unknown
// wamid adopts it (AdoptStatus) or the ExpireAmbiguous job gives up on it.
package outbox

import (
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// Channel is the NOTIFY channel enqueuers signal so that idle senders wake at once.
const Channel = "atiende_outbox"

// Outbox row kinds and states, as in the migration's CHECK constraints.
const (
	KindMessage = "message"
	KindRead    = "read"

	StatePending   = "pending"
	StateSending   = "sending"
	StateSent      = "sent"
	StateFailed    = "failed"
	StateAmbiguous = "ambiguous"
)

// EnqueueMessage queues body (a full Graph request such as whatsapp.TextBody) for the
// outbound message m, already inserted with status "queued", to the customer with wa_id
// recipient. Call it inside the transaction that inserts m: the send happens only if
// that transaction commits, and exactly once.
func EnqueueMessage(tx *gorm.DB, m models.Message, recipient string, body []byte) error {
	if m.ID == 0 || m.ChannelID == 0 || m.WorkspaceID == 0 {
		return errors.New("outbox: the message must be inserted (with workspace and channel) before it is enqueued")
	}
	id := m.ID
	return enqueue(tx, models.Outbox{WorkspaceID: m.WorkspaceID, ChannelID: m.ChannelID, MessageID: &id,
		Kind: KindMessage, Recipient: whatsapp.NormalizeWaID(recipient), Payload: body})
}

// EnqueueRead queues marking the customer's message wamid as read (blue ticks). Call it
// inside the transaction that records the agent opening the conversation.
func EnqueueRead(tx *gorm.DB, workspaceID, channelID int64, recipient, wamid string) error {
	if wamid == "" {
		return errors.New("outbox: mark as read needs the customer's wamid")
	}
	return enqueue(tx, models.Outbox{WorkspaceID: workspaceID, ChannelID: channelID, Kind: KindRead,
		Recipient: whatsapp.NormalizeWaID(recipient), Payload: whatsapp.ReadBody(wamid)})
}

func enqueue(tx *gorm.DB, row models.Outbox) error {
	if !json.Valid(row.Payload) {
		return errors.New("outbox: the payload is not JSON")
	}
	if row.Recipient == "" {
		return errors.New("outbox: the recipient's wa_id is empty")
	}
	row.State = StatePending
	err := tx.Omit("ID", "NextAttemptAt", "CreatedAt", "UpdatedAt", "LastCode").Create(&row).Error
	if err != nil {
		return fmt.Errorf("outbox: enqueue: %w", err)
	}
	// Delivered at commit, and only then: no sender wakes for a rolled-back send.
	return tx.Exec("SELECT pg_notify(?, '')", Channel).Error
}

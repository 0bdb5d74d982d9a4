package contacts

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/models"
)

// MergeResult says what a merge moved.
type MergeResult struct {
	SurvivorID            int64
	MergedID              int64
	ConversationsMoved    int
	ConversationsCombined int
}

// Merge folds contact otherID into survivorID (admins and supervisors, both contacts
// visible to them), in one transaction: every conversation moves to the survivor; when
// both have a conversation on the same channel (one per channel and contact), the two
// become one with every message, cycle, event and label; rows of any other table with a
// contact_id (leads, tasks…) move; the survivor's blank profile fields take the other's
// values and notes are joined; the merge is written to the audit log, which the
// survivor's timeline shows. Then the other contact is deleted.
func (s *Service) Merge(ctx context.Context, v accounts.Viewer, survivorID, otherID int64) (MergeResult, error) {
	res := MergeResult{SurvivorID: survivorID, MergedID: otherID}
	if !v.IsAdmin() && !v.IsSupervisor() {
		return res, apperr.ErrForbidden
	}
	if survivorID == otherID {
		return res, apperr.Invalid("Elige otro contacto: no se puede fusionar un contacto consigo mismo.")
	}
	if _, err := s.Get(ctx, v, survivorID); err != nil {
		return res, err
	}
	if _, err := s.Get(ctx, v, otherID); err != nil {
		return res, err
	}
	ws := v.Workspace.ID
	now := s.Clock.Now()
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var pair []models.Contact
		if err := tx.Raw(`SELECT * FROM contacts WHERE workspace_id = ? AND id IN (?, ?) ORDER BY id FOR UPDATE`, ws, survivorID, otherID).Scan(&pair).Error; err != nil {
			return err
		}
		if len(pair) != 2 {
			return ErrNoContact // the other was merged or deleted meanwhile
		}
		keep, gone := pair[0], pair[1]
		if keep.ID != survivorID {
			keep, gone = gone, keep
		}
		// Conversations, locked in id order (as the inbox locks one at a time).
		var convs []models.Conversation
		if err := tx.Raw(`SELECT * FROM conversations WHERE contact_id IN (?, ?) ORDER BY id FOR UPDATE`, keep.ID, gone.ID).Scan(&convs).Error; err != nil {
			return err
		}
		byChannel := map[int64]models.Conversation{}
		for _, c := range convs {
			if c.ContactID == keep.ID {
				byChannel[c.ChannelID] = c
			}
		}
		for _, c := range convs {
			if c.ContactID != gone.ID {
				continue
			}
			if into, ok := byChannel[c.ChannelID]; ok {
				if err := combineConversations(tx, into, c, now); err != nil {
					return err
				}
				res.ConversationsCombined++
				continue
			}
			if err := tx.Exec(`UPDATE conversations SET contact_id = ?, updated_at = ? WHERE id = ?`, keep.ID, now, c.ID).Error; err != nil {
				return err
			}
			res.ConversationsMoved++
		}
		// Every other table that points at a contact (leads, tasks… as they are added)
		// follows the person.
		tables, err := columnTables(tx, "contact_id", "contacts", "conversations")
		if err != nil {
			return err
		}
		for _, t := range tables {
			if err := tx.Exec(fmt.Sprintf(`UPDATE %s SET contact_id = ? WHERE contact_id = ?`, quoteIdent(t)), keep.ID, gone.ID).Error; err != nil {
				return fmt.Errorf("moving %s: %w", t, err)
			}
		}
		if err := fillProfile(tx, keep, gone, now); err != nil {
			return err
		}
		snapshot := map[string]any{"id": gone.ID, "name": gone.DisplayName(), "wa_id": gone.WaID, "phone": gone.Phone, "email": gone.Email,
			"company": gone.Company, "profile_name": gone.ProfileName, "notes": gone.Notes, "custom": json.RawMessage(orEmpty(gone.Custom)),
			"created_at": gone.CreatedAt}
		if err := audit(tx, ws, &v.User.ID, "contact.merge", "contact", keep.ID, map[string]any{"merged": snapshot,
			"conversations_moved": res.ConversationsMoved, "conversations_combined": res.ConversationsCombined}, now); err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM contacts WHERE id = ? AND workspace_id = ?`, gone.ID, ws).Error; err != nil {
			return err
		}
		// Conversations changed hands or became one: open boards everywhere reload.
		return live.Publish(tx, live.Event{Kind: "resync", WorkspaceID: ws})
	})
	return res, err
}

func orEmpty(j models.JSON) []byte {
	if len(j) == 0 {
		return []byte("{}")
	}
	return j
}

// fillProfile gives the survivor the other's values where it has none, joins the
// notes and adds the custom fields it lacks.
func fillProfile(tx *gorm.DB, keep, gone models.Contact, now time.Time) error {
	upd := map[string]any{"updated_at": now}
	if keep.Name == "" && gone.Name != "" {
		upd["name"] = gone.Name
	}
	if keep.ProfileName == "" && gone.ProfileName != "" {
		upd["profile_name"] = gone.ProfileName
	}
	if keep.Email == "" && gone.Email != "" {
		upd["email"] = gone.Email
	}
	if keep.CompanyID == nil && gone.CompanyID != nil {
		upd["company_id"], upd["company"] = gone.CompanyID, gone.Company
	} else if keep.Company == "" && gone.Company != "" {
		upd["company"] = gone.Company
	}
	if keep.OwnerID == nil && gone.OwnerID != nil {
		upd["owner_id"] = gone.OwnerID
	}
	if len(keep.Referral) == 0 && len(gone.Referral) > 0 {
		upd["referral"] = gone.Referral
	}
	if gone.Notes != "" && gone.Notes != keep.Notes {
		if keep.Notes == "" {
			upd["notes"] = gone.Notes
		} else {
			upd["notes"] = keep.Notes + "\n\n" + gone.Notes
		}
	}
	custom, other := map[string]any{}, map[string]any{}
	_ = json.Unmarshal(orEmpty(keep.Custom), &custom)
	_ = json.Unmarshal(orEmpty(gone.Custom), &other)
	grew := false
	for k, v := range other {
		if _, ok := custom[k]; !ok {
			custom[k], grew = v, true
		}
	}
	if grew {
		b, _ := json.Marshal(custom)
		upd["custom"] = models.JSON(b)
	}
	return tx.Model(&models.Contact{}).Where("id = ?", keep.ID).Updates(upd).Error
}

// combineConversations makes from (same channel, the merged contact) part of into:
// its messages, cycles, events, labels and any other row with a conversation_id move,
// and into keeps the latest activity. One open cycle per conversation: when both are
// open, into's stays and from's is closed as "merged"; when only from is open, into
// takes its state (status, team, assignee, SLA) so the open work is not lost.
func combineConversations(tx *gorm.DB, into, from models.Conversation, now time.Time) error {
	intoOpen, fromOpen := into.Status != models.StatusClosed, from.Status != models.StatusClosed
	if intoOpen && fromOpen && from.CycleID != nil {
		if err := tx.Exec(`UPDATE cycles SET closed_at = ?, close_reason = 'merged' WHERE id = ? AND closed_at IS NULL`, now, *from.CycleID).Error; err != nil {
			return err
		}
	}
	if err := tx.Exec(`INSERT INTO conversation_labels (workspace_id, conversation_id, label_id)
		SELECT workspace_id, ?, label_id FROM conversation_labels WHERE conversation_id = ? ON CONFLICT DO NOTHING`, into.ID, from.ID).Error; err != nil {
		return err
	}
	tables, err := columnTables(tx, "conversation_id", "conversation_labels")
	if err != nil {
		return err
	}
	for _, t := range tables {
		if err := tx.Exec(fmt.Sprintf(`UPDATE %s SET conversation_id = ? WHERE conversation_id = ?`, quoteIdent(t)), into.ID, from.ID).Error; err != nil {
			return fmt.Errorf("moving %s: %w", t, err)
		}
	}
	upd := map[string]any{"updated_at": now, "unread_count": into.UnreadCount + from.UnreadCount}
	if later(from.LastMessageAt, into.LastMessageAt) {
		upd["last_message_at"], upd["last_message_preview"], upd["last_message_out"] = from.LastMessageAt, from.LastMessagePreview, from.LastMessageOut
	}
	if later(from.LastInboundAt, into.LastInboundAt) {
		upd["last_inbound_at"] = from.LastInboundAt
	}
	if from.CreatedAt.Before(into.CreatedAt) {
		upd["created_at"] = from.CreatedAt
	}
	if fromOpen && !intoOpen {
		upd["status"], upd["team_id"], upd["assignee_id"], upd["cycle_id"] = from.Status, from.TeamID, from.AssigneeID, from.CycleID
		upd["waiting_since"], upd["close_reason"], upd["closed_at"] = from.WaitingSince, "", nil
		upd["first_response_due_at"], upd["next_response_due_at"], upd["resolution_due_at"], upd["sla_state"] =
			from.FirstResponseDueAt, from.NextResponseDueAt, from.ResolutionDueAt, from.SLAState
	} else if !intoOpen && !fromOpen && later(from.ClosedAt, into.ClosedAt) {
		upd["closed_at"], upd["close_reason"], upd["cycle_id"] = from.ClosedAt, from.CloseReason, from.CycleID
	}
	if err := tx.Model(&models.Conversation{}).Where("id = ?", into.ID).Updates(upd).Error; err != nil {
		return err
	}
	return tx.Exec(`DELETE FROM conversations WHERE id = ?`, from.ID).Error
}

func later(a, b *time.Time) bool { return a != nil && (b == nil || a.After(*b)) }

// columnTables lists the public tables with a column of that name, but the excluded.
func columnTables(tx *gorm.DB, column string, exclude ...string) ([]string, error) {
	var names []string
	err := tx.Raw(`SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t
		ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
		WHERE c.table_schema = 'public' AND c.column_name = ? AND c.table_name NOT IN ? ORDER BY 1`, column, exclude).Scan(&names).Error
	return names, err
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

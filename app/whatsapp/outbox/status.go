package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// wamidLockClass namespaces LockWamid's advisory locks (two-key form: it cannot collide
// with the single-key locks of the job leader and the test harness).
const wamidLockClass = 727002

// LockWamid takes a transaction-scoped lock on (channelID, wamid). The sender holds it
// while it stores a wamid and applies the statuses already recorded; the webhook code
// should take it before it records a status and looks the wamid up, so that a status
// arriving while the sender stores the wamid is never lost between the two.
func LockWamid(tx *gorm.DB, channelID int64, wamid string) error {
	return tx.Exec("SELECT pg_advisory_xact_lock(?, hashtext(?))", wamidLockClass, fmt.Sprintf("%d:%s", channelID, wamid)).Error
}

var rankSQL = whatsapp.StatusRankSQL

// applyRecordedStatus moves message id to the furthest status recorded for its wamid in
// message_statuses, never backwards.
func applyRecordedStatus(tx *gorm.DB, messageID, channelID int64, wamid string) error {
	var sts []models.MessageStatus
	if err := tx.Where("channel_id = ? AND wamid = ?", channelID, wamid).Find(&sts).Error; err != nil {
		return err
	}
	var best *models.MessageStatus
	for i := range sts {
		if best == nil || whatsapp.StatusRank(sts[i].Status) > whatsapp.StatusRank(best.Status) {
			best = &sts[i]
		}
	}
	if best == nil || whatsapp.StatusRank(best.Status) == 0 {
		return nil
	}
	up := map[string]any{"status": whatsapp.NormalizeStatus(best.Status), "status_at": best.At}
	if best.Status == models.DeliveryFailed {
		code := 0
		if best.ErrorCode != nil {
			code = *best.ErrorCode
		}
		up["error_code"] = nullCode(code)
		up["error_detail"] = whatsapp.ErrorReasonES(code, "")
	}
	return tx.Model(&models.Message{}).Where("id = ? AND "+rankSQL("status")+" < ?", messageID, whatsapp.StatusRank(best.Status)).
		Updates(up).Error
}

// AdoptStatus settles an ambiguous send with a status webhook whose wamid no message
// has. The webhook code calls it, in its transaction, for such a status (after recording
// it in message_statuses): if the channel has an ambiguous send to recipient, the oldest
// one takes the wamid and becomes sent, and the recorded statuses apply to its message.
//
// It reports whether the wamid now belongs to a message of the channel (adopted now, or
// stored by the sender meanwhile), in which case the caller should look it up again. It
// adopts nothing while a send to recipient is in flight: the wamid is most likely that
// send's, which the sender stores, with its statuses, when Meta answers.
func AdoptStatus(tx *gorm.DB, channelID int64, recipient, wamid string) (bool, error) {
	recipient = whatsapp.NormalizeWaID(recipient)
	if wamid == "" || recipient == "" {
		return false, nil
	}
	if err := LockWamid(tx, channelID, wamid); err != nil {
		return false, err
	}
	var existing []int64
	if err := tx.Model(&models.Message{}).Where("channel_id = ? AND wamid = ?", channelID, wamid).Pluck("id", &existing).Error; err != nil {
		return false, err
	}
	if len(existing) > 0 {
		// The sender stored it meanwhile: make sure what was recorded applies.
		return true, applyRecordedStatus(tx, existing[0], channelID, wamid)
	}
	var n int64
	if err := tx.Model(&models.Outbox{}).Where("channel_id = ? AND recipient = ? AND kind = ? AND state = ?",
		channelID, recipient, KindMessage, StateSending).Count(&n).Error; err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	var row models.Outbox
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("channel_id = ? AND recipient = ? AND kind = ? AND state = ? AND message_id IS NOT NULL", channelID, recipient, KindMessage, StateAmbiguous).
		Order("id").First(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	res := tx.Model(&models.Message{}).Where("id = ? AND wamid IS NULL", *row.MessageID).Update("wamid", wamid)
	if res.Error != nil {
		return false, res.Error
	}
	if err := tx.Model(&models.Outbox{}).Where("id = ?", row.ID).Updates(map[string]any{
		"state": StateSent, "last_error": "adopted from a status webhook", "updated_at": gorm.Expr("now()")}).Error; err != nil {
		return false, err
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	return true, applyRecordedStatus(tx, *row.MessageID, channelID, wamid)
}

// ReasonUnconfirmed is what agents read on a message whose send was never confirmed.
const ReasonUnconfirmed = "No se confirmó el envío: revisa en WhatsApp si llegó antes de reenviar."

// RecoverStuck settles rows left "sending" for longer than olderThan by a process that
// died mid-send. Messages become ambiguous (Meta may have them: never re-sent); read
// receipts, harmless to repeat, go back to pending. It returns how many rows it moved.
// Run it every minute with olderThan well above the sender's SendTimeout (2 min).
//
// Meta may have posted statuses for such a send while it was in flight (the webhook
// could not tell them apart from another send's then): those recorded in
// message_statuses are adopted at once, so a delivered message never waits to expire.
func RecoverStuck(ctx context.Context, db *gorm.DB, olderThan time.Duration) (int64, error) {
	res := db.WithContext(ctx).Model(&models.Outbox{}).
		Where("state = ? AND updated_at < now() - make_interval(secs => ?)", StateSending, olderThan.Seconds()).
		Updates(map[string]any{
			"state":      gorm.Expr("CASE kind WHEN 'read' THEN 'pending' ELSE 'ambiguous' END"),
			"last_error": "the sending process stopped before Meta answered",
			"updated_at": gorm.Expr("now()"),
		})
	if res.Error != nil {
		return 0, res.Error
	}
	if res.RowsAffected > 0 {
		if _, err := AdoptRecorded(ctx, db); err != nil {
			return res.RowsAffected, err
		}
	}
	return res.RowsAffected, nil
}

// AdoptRecorded settles ambiguous sends with the statuses already recorded for them:
// for each recipient with ambiguous sends, the wamids its statuses name that no message
// holds, taken in the order they were first seen, go to its ambiguous sends in the
// order they were queued. It returns how many sends it adopted.
func AdoptRecorded(ctx context.Context, db *gorm.DB) (int64, error) {
	var groups []struct {
		ChannelID int64
		Recipient string
	}
	if err := db.WithContext(ctx).Raw(`SELECT DISTINCT channel_id, recipient FROM outbox
		WHERE state = 'ambiguous' AND kind = 'message' AND message_id IS NOT NULL`).Scan(&groups).Error; err != nil {
		return 0, err
	}
	var n int64
	for _, g := range groups {
		err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var rows []models.Outbox
			if err := tx.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"}).
				Where("channel_id = ? AND recipient = ? AND kind = ? AND state = ? AND message_id IS NOT NULL",
					g.ChannelID, g.Recipient, KindMessage, StateAmbiguous).Order("id").Find(&rows).Error; err != nil || len(rows) == 0 {
				return err
			}
			var orphans []string
			if err := tx.Raw(`SELECT s.wamid FROM message_statuses s
				WHERE s.channel_id = ? AND s.recipient = ? AND s.at >= ?
				  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.channel_id = s.channel_id AND m.wamid = s.wamid)
				GROUP BY s.wamid ORDER BY min(s.at), s.wamid`, g.ChannelID, g.Recipient, rows[0].CreatedAt.Add(-time.Minute)).
				Scan(&orphans).Error; err != nil {
				return err
			}
			for i := 0; i < len(rows) && i < len(orphans); i++ {
				if err := LockWamid(tx, g.ChannelID, orphans[i]); err != nil {
					return err
				}
				res := tx.Model(&models.Message{}).Where("id = ? AND wamid IS NULL", *rows[i].MessageID).Update("wamid", orphans[i])
				if res.Error != nil {
					return res.Error
				}
				if res.RowsAffected == 0 {
					continue
				}
				if err := tx.Model(&models.Outbox{}).Where("id = ?", rows[i].ID).Updates(map[string]any{
					"state": StateSent, "last_error": "adopted from statuses recorded while it was in flight", "updated_at": gorm.Expr("now()")}).Error; err != nil {
					return err
				}
				if err := applyRecordedStatus(tx, *rows[i].MessageID, g.ChannelID, orphans[i]); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ExpireAmbiguous gives up on ambiguous sends no status webhook adopted within
// olderThan: their messages fail with ReasonUnconfirmed, so agents check WhatsApp before
// writing again. It returns how many it expired.
func ExpireAmbiguous(ctx context.Context, db *gorm.DB, olderThan time.Duration) (int64, error) {
	// "Envío sin confirmar" only when no status ever arrived: adopt what was recorded first.
	if _, err := AdoptRecorded(ctx, db); err != nil {
		return 0, err
	}
	var n int64
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ids []*int64
		if err := tx.Raw(`UPDATE outbox SET state = 'failed', last_error = 'ambiguous: no status webhook arrived', updated_at = now()
			WHERE state = 'ambiguous' AND updated_at < now() - make_interval(secs => ?) RETURNING message_id`, olderThan.Seconds()).
			Scan(&ids).Error; err != nil {
			return err
		}
		n = int64(len(ids))
		msgIDs := make([]int64, 0, len(ids))
		for _, id := range ids {
			if id != nil {
				msgIDs = append(msgIDs, *id)
			}
		}
		if len(msgIDs) == 0 {
			return nil
		}
		return tx.Model(&models.Message{}).Where("id IN ? AND status IN ('', 'queued')", msgIDs).
			Updates(map[string]any{"status": models.DeliveryFailed, "error_code": nil, "error_title": "Envío sin confirmar",
				"error_detail": ReasonUnconfirmed, "status_at": gorm.Expr("now()")}).Error
	})
	return n, err
}

// PurgeFinished deletes sent and failed rows older than olderThan (the message keeps
// its status and error; the row was only the request).
func PurgeFinished(ctx context.Context, db *gorm.DB, olderThan time.Duration) (int64, error) {
	res := db.WithContext(ctx).Where("state IN ? AND updated_at < now() - make_interval(secs => ?)",
		[]string{StateSent, StateFailed}, olderThan.Seconds()).Delete(&models.Outbox{})
	return res.RowsAffected, res.Error
}

package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/whatsapp"
)

// RetryWindow is how long a dead letter keeps being retried after it arrived: as long
// as Meta itself would have retried a delivery we had refused.
const RetryWindow = 7 * 24 * time.Hour

// DeadLetter is one webhook item that could not be applied.
type DeadLetter struct {
	ID          int64
	WorkspaceID int64
	ChannelID   int64
	ChannelName string
	Kind        string // message | status
	ItemID      string
	Payload     []byte
	Error       string
	ReceivedAt  time.Time
	Attempts    int
	LastTriedAt time.Time
	NextRetryAt *time.Time
	ResolvedAt  *time.Time
}

// Pending reports a dead letter not applied yet.
func (d DeadLetter) Pending() bool { return d.ResolvedAt == nil }

// ReplayResult says what a replay did.
type ReplayResult struct {
	Resolved bool
	Error    string
}

// Replay applies dead letter id of workspace wsID again (wsID 0: any workspace, for the
// CLI), at time now. It succeeds or records the new error and schedules the next try
// (none once RetryWindow has passed since it arrived). A resolved one is left as is.
func (g *Ingester) Replay(ctx context.Context, wsID, id int64, now time.Time) (ReplayResult, error) {
	var res ReplayResult
	var ws int64
	err := g.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var d DeadLetter
		q := tx.Table("webhook_dead_letters").Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id)
		if wsID != 0 {
			q = q.Where("workspace_id = ?", wsID)
		}
		if err := q.Limit(1).Find(&d).Error; err != nil {
			return err
		}
		if d.ID == 0 {
			return apperr.ErrNotFound
		}
		ws = d.WorkspaceID
		if d.ResolvedAt != nil {
			res.Resolved = true
			return nil
		}
		var v whatsapp.Value
		if err := json.Unmarshal(d.Payload, &v); err != nil {
			return g.retryLater(tx, &d, now, fmt.Sprintf("el contenido guardado no es JSON válido: %v", err), &res)
		}
		whatsapp.CleanStrings(&v)
		var sum Summary
		var dead []deadLetter
		if err := g.applyValue(ctx, tx, d.WorkspaceID, d.ChannelID, false, v, d.ReceivedAt, &sum, &dead, true); err != nil {
			return err
		}
		if len(dead) > 0 {
			return g.retryLater(tx, &d, now, dead[0].err, &res)
		}
		res.Resolved = true
		return tx.Exec(`UPDATE webhook_dead_letters SET resolved_at = ?, last_tried_at = ?, attempts = attempts + 1, next_retry_at = NULL
			WHERE id = ?`, now, now, d.ID).Error
	})
	if err == nil && res.Resolved && g.Inbox != nil && ws != 0 {
		g.Inbox.Changed(ws)
	}
	return res, err
}

func (g *Ingester) retryLater(tx *gorm.DB, d *DeadLetter, now time.Time, msg string, res *ReplayResult) error {
	res.Error = msg
	attempts := d.Attempts + 1
	var next *time.Time
	if t := now.Add(RetryBackoff(attempts)); t.Before(d.ReceivedAt.Add(RetryWindow)) {
		next = &t
	}
	return tx.Exec(`UPDATE webhook_dead_letters SET error = ?, attempts = ?, last_tried_at = ?, next_retry_at = ? WHERE id = ?`,
		msg, attempts, now, next, d.ID).Error
}

// RetryDue replays the dead letters due at now (at most limit) and returns how many
// it resolved and how many failed again. The cron table runs it every minute.
func (g *Ingester) RetryDue(ctx context.Context, now time.Time, limit int) (resolved, failed int, err error) {
	var ids []int64
	if err := g.DB.WithContext(ctx).Raw(`SELECT id FROM webhook_dead_letters
		WHERE resolved_at IS NULL AND next_retry_at <= ? ORDER BY next_retry_at, id LIMIT ?`, now, limit).Scan(&ids).Error; err != nil {
		return 0, 0, err
	}
	for _, id := range ids {
		r, err := g.Replay(ctx, 0, id, now)
		if err != nil && !errors.Is(err, apperr.ErrNotFound) {
			return resolved, failed, err
		}
		if r.Resolved {
			resolved++
		} else if r.Error != "" {
			failed++
		}
	}
	return resolved, failed, nil
}

// DeadLetters lists a workspace's dead letters, newest first (pending ones only when
// pendingOnly); wsID 0 lists every workspace's (the CLI).
func (g *Ingester) DeadLetters(ctx context.Context, wsID int64, pendingOnly bool, limit int) ([]DeadLetter, error) {
	var out []DeadLetter
	q := g.DB.WithContext(ctx).Table("webhook_dead_letters d").
		Select("d.*, COALESCE(ch.name, '') AS channel_name").
		Joins("LEFT JOIN channels ch ON ch.id = d.channel_id")
	if wsID != 0 {
		q = q.Where("d.workspace_id = ?", wsID)
	}
	if pendingOnly {
		q = q.Where("d.resolved_at IS NULL")
	}
	err := q.Order("d.received_at DESC, d.id DESC").Limit(limit).Scan(&out).Error
	return out, err
}

// Delivery is one webhook POST and what it came to.
type Delivery struct {
	ID          int64
	ChannelName string
	ReceivedAt  time.Time
	Bytes       int
	Messages    int
	Statuses    int
	Duplicates  int
	Failed      int
}

// Deliveries lists a workspace's latest webhook deliveries, newest first.
func (g *Ingester) Deliveries(ctx context.Context, wsID int64, limit int) ([]Delivery, error) {
	var out []Delivery
	err := g.DB.WithContext(ctx).Raw(`SELECT e.id, COALESCE(ch.name, '') AS channel_name, e.received_at, length(e.body) AS bytes,
			e.messages, e.statuses, e.duplicates, e.failed
		FROM webhook_events e LEFT JOIN channels ch ON ch.id = e.channel_id
		WHERE e.workspace_id = ? ORDER BY e.received_at DESC, e.id DESC LIMIT ?`, wsID, limit).Scan(&out).Error
	return out, err
}

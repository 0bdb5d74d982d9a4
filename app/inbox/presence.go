package inbox

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/models"
)

// AwayAfter is how long without a heartbeat (the board sends one every 30 s) before
// an agent is shown offline.
const AwayAfter = 2 * time.Minute

// ValidPresence reports whether p is a presence an agent may choose.
func ValidPresence(p string) bool {
	return p == models.PresenceOnline || p == models.PresenceBusy || p == models.PresenceOffline
}

// SetPresence records the presence v chose (online, busy, offline) and tells every
// open board of the workspace.
func (s *Service) SetPresence(ctx context.Context, v accounts.Viewer, presence string) error {
	if !ValidPresence(presence) {
		return apperr.Validation{"presence": "Elige En línea, Ocupado o Desconectado"}
	}
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.Clock.Now()
		if err := tx.Model(&models.User{}).Where("id = ? AND workspace_id = ?", v.User.ID, v.Workspace.ID).
			Updates(map[string]any{"presence": presence, "away_presence": "", "last_seen_at": now}).Error; err != nil {
			return err
		}
		return publishPresence(tx, v.Workspace.ID, v.User.ID, presence)
	})
	if err == nil && presence == models.PresenceOnline && s.AfterCommit != nil {
		// Back online: the oldest chats waiting in their teams' queues come to them.
		s.AfterCommit(context.WithoutCancel(ctx), v.Workspace.ID, []int64{v.User.ID}, nil)
	}
	return err
}

// Heartbeat records that v has Atiende open. Someone shown offline only because
// their heartbeats stopped (a sleeping laptop) gets back the presence they had chosen.
// It returns v's presence now.
func (s *Service) Heartbeat(ctx context.Context, v accounts.Viewer) (string, error) {
	var presence string
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Raw(`
			UPDATE users SET last_seen_at = ?,
				presence = CASE WHEN away_presence <> '' THEN away_presence ELSE presence END,
				away_presence = ''
			WHERE id = ? AND workspace_id = ?
			RETURNING presence`, s.Clock.Now(), v.User.ID, v.Workspace.ID).Scan(&presence).Error
		if err != nil {
			return err
		}
		if presence != v.User.Presence {
			return publishPresence(tx, v.Workspace.ID, v.User.ID, presence)
		}
		return nil
	})
	if err == nil && presence == models.PresenceOnline && v.User.Presence != presence && s.AfterCommit != nil {
		s.AfterCommit(context.WithoutCancel(ctx), v.Workspace.ID, []int64{v.User.ID}, nil) // back from away
	}
	return presence, err
}

// MarkAwayOffline shows offline every user whose last heartbeat is older than
// olderThan (a job runs it every 30 s). It remembers what they had chosen, so their
// next heartbeat restores it, and tells every open board.
func MarkAwayOffline(ctx context.Context, db *gorm.DB, now time.Time, olderThan time.Duration) (int, error) {
	cutoff := now.Add(-olderThan)
	n := 0
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []struct {
			ID          int64
			WorkspaceID int64
		}
		if err := tx.Raw(`
			UPDATE users SET away_presence = presence, presence = 'offline'
			WHERE presence <> 'offline' AND (last_seen_at IS NULL OR last_seen_at < ?)
			RETURNING id, workspace_id`, cutoff).Scan(&rows).Error; err != nil {
			return err
		}
		n = len(rows)
		for _, r := range rows {
			if err := publishPresence(tx, r.WorkspaceID, r.ID, models.PresenceOffline); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

func publishPresence(tx *gorm.DB, workspaceID, userID int64, presence string) error {
	return live.Publish(tx, live.Event{Kind: "presence", WorkspaceID: workspaceID, UserID: userID, Text: presence})
}

// Package catalog manages what a workspace prepares ahead of conversations: WhatsApp
// message templates, canned responses ("/saludo") and conversation labels. Everything
// is scoped by workspace_id; names are unique per workspace; messages are in Spanish.
package catalog

import (
	"context"
	"errors"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/clock"
)

// Service is the catalog domain service.
type Service struct {
	DB    *gorm.DB
	Clock clock.Clock
}

// New returns a Service.
func New(db *gorm.DB, c clock.Clock) *Service {
	if c == nil {
		c = clock.Real{}
	}
	return &Service{DB: db, Clock: c}
}

// deleteScoped deletes the row id of workspace wsID and loads what it was into model; a
// row of another workspace (or none) is apperr.ErrNotFound, like everywhere else.
// The deletion is audited (a settings change: change, e.g. "label.delete", with
// facts of the deleted row as before) in the same transaction.
func (s *Service) deleteScoped(ctx context.Context, model any, wsID, id int64, targetType, change string, facts func() map[string]any) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.Returning{}).Where("workspace_id = ? AND id = ?", wsID, id).Delete(model)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return apperr.ErrNotFound
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.SettingsChange, TargetType: targetType, TargetID: id,
			Before: facts(), Data: map[string]any{"change": change}})
	})
}

// createAudited inserts row and audits it (a settings change) in one transaction;
// id and facts are read after the insert.
func (s *Service) createAudited(ctx context.Context, wsID int64, row any, targetType, change string, id func() int64, facts func() map[string]any) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(row).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.SettingsChange, TargetType: targetType, TargetID: id(),
			After: facts(), Data: map[string]any{"change": change}})
	})
}

// getScoped loads row id of workspace wsID into dst.
func (s *Service) getScoped(ctx context.Context, dst any, wsID, id int64) error {
	err := s.DB.WithContext(ctx).Where("workspace_id = ? AND id = ?", wsID, id).First(dst).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return apperr.ErrNotFound
	}
	return err
}

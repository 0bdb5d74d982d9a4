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
func (s *Service) deleteScoped(ctx context.Context, model any, wsID, id int64) error {
	res := s.DB.WithContext(ctx).Clauses(clause.Returning{}).Where("workspace_id = ? AND id = ?", wsID, id).Delete(model)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return apperr.ErrNotFound
	}
	return nil
}

// getScoped loads row id of workspace wsID into dst.
func (s *Service) getScoped(ctx context.Context, dst any, wsID, id int64) error {
	err := s.DB.WithContext(ctx).Where("workspace_id = ? AND id = ?", wsID, id).First(dst).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return apperr.ErrNotFound
	}
	return err
}

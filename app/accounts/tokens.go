package accounts

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/models"
)

// MaxTokenName is the longest name a person may give an API token.
const MaxTokenName = 60

// IssueAPIToken validates the name and issues a token for u (see CreateAPIToken). It
// returns the clear token, this once (only its hash is stored), and the stored row.
func (s *Service) IssueAPIToken(ctx context.Context, u models.User, name string) (string, models.APIToken, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", models.APIToken{}, apperr.Validation{"name": "Ponle un nombre que diga dónde lo usarás, por ejemplo «Integración con el ERP»"}
	case utf8.RuneCountInString(name) > MaxTokenName:
		return "", models.APIToken{}, apperr.Validation{"name": fmt.Sprintf("El nombre puede tener hasta %d caracteres", MaxTokenName)}
	}
	token, err := s.CreateAPIToken(ctx, u, name)
	if err != nil {
		return "", models.APIToken{}, err
	}
	sum := sha256.Sum256([]byte(token))
	var t models.APIToken
	err = s.DB.WithContext(ctx).Where("token_hash = ?", sum[:]).First(&t).Error
	return token, t, err
}

// APITokens returns the user's API tokens, newest first (hashes included; never show them).
func (s *Service) APITokens(ctx context.Context, wsID, userID int64) ([]models.APIToken, error) {
	var out []models.APIToken
	err := s.DB.WithContext(ctx).Where("workspace_id = ? AND user_id = ?", wsID, userID).
		Order("created_at DESC, id DESC").Find(&out).Error
	return out, err
}

// RevokeAPIToken deletes one of the user's tokens; it stops working at once. Someone
// else's token is apperr.ErrNotFound, like one that does not exist.
func (s *Service) RevokeAPIToken(ctx context.Context, wsID, userID, tokenID int64) (models.APIToken, error) {
	var t models.APIToken
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw(`DELETE FROM api_tokens WHERE id = ? AND workspace_id = ? AND user_id = ? RETURNING *`,
			tokenID, wsID, userID).Scan(&t).Error; err != nil {
			return err
		}
		if t.ID == 0 {
			return apperr.ErrNotFound
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.TokenRevoke, TargetType: "api_token", TargetID: t.ID,
			Before: map[string]any{"name": t.Name, "prefix": t.TokenPrefix, "user_id": t.UserID}})
	})
	return t, err
}

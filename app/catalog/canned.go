package catalog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
)

// Limits of canned responses. A body is sent as a WhatsApp text, so it shares its limit.
const (
	MaxShortcut    = 32
	MaxCannedTitle = 80
	MaxCannedBody  = 4096
)

var shortcutRe = regexp.MustCompile(`^[\p{Ll}0-9_-]+$`)

// CannedInput is what creating a canned response takes.
type CannedInput struct {
	Shortcut string // what agents type after "/" in the composer, e.g. "saludo"
	Title    string
	Body     string
}

func (in *CannedInput) normalize() {
	in.Shortcut = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(in.Shortcut), "/"))
	in.Title = strings.TrimSpace(in.Title)
	in.Body = strings.TrimSpace(strings.ReplaceAll(in.Body, "\r\n", "\n"))
}

func (in CannedInput) validate() apperr.Validation {
	v := apperr.Validation{}
	switch {
	case in.Shortcut == "":
		v.Add("shortcut", "Escribe el atajo que se tecleará después de «/», por ejemplo «saludo»")
	case utf8.RuneCountInString(in.Shortcut) > MaxShortcut:
		v.Add("shortcut", fmt.Sprintf("El atajo puede tener hasta %d caracteres", MaxShortcut))
	case !shortcutRe.MatchString(in.Shortcut):
		v.Add("shortcut", "El atajo va sin espacios: usa letras, números, «-» o «_», por ejemplo «horario-atencion»")
	}
	if utf8.RuneCountInString(in.Title) > MaxCannedTitle {
		v.Add("title", fmt.Sprintf("El título puede tener hasta %d caracteres", MaxCannedTitle))
	}
	switch {
	case in.Body == "":
		v.Add("body", "Escribe el texto que se insertará en la respuesta")
	case utf8.RuneCountInString(in.Body) > MaxCannedBody:
		v.Add("body", fmt.Sprintf("El texto puede tener hasta %d caracteres (el límite de WhatsApp)", MaxCannedBody))
	}
	return v
}

// CreateCanned adds a canned response; shortcuts are unique per workspace (any case).
func (s *Service) CreateCanned(ctx context.Context, wsID int64, in CannedInput) (models.CannedResponse, error) {
	in.normalize()
	if v := in.validate(); len(v) > 0 {
		return models.CannedResponse{}, v
	}
	if in.Title == "" {
		in.Title = in.Shortcut
	}
	r := models.CannedResponse{WorkspaceID: wsID, Shortcut: in.Shortcut, Title: in.Title, Body: in.Body, CreatedAt: s.Clock.Now()}
	err := s.createAudited(ctx, wsID, &r, "canned_response", "canned.create", func() int64 { return r.ID }, func() map[string]any { return cannedFacts(r) })
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return r, apperr.Validation{"shortcut": fmt.Sprintf("Ya existe una respuesta con el atajo /%s", in.Shortcut)}
	}
	return r, err
}

// Canned returns the workspace's canned responses by shortcut (for settings and for
// the composer's "/" menu).
func (s *Service) Canned(ctx context.Context, wsID int64) ([]models.CannedResponse, error) {
	var out []models.CannedResponse
	err := s.DB.WithContext(ctx).Where("workspace_id = ?", wsID).Order("lower(shortcut)").Find(&out).Error
	return out, err
}

// CannedByID returns one canned response of the workspace.
func (s *Service) CannedByID(ctx context.Context, wsID, id int64) (models.CannedResponse, error) {
	var r models.CannedResponse
	err := s.getScoped(ctx, &r, wsID, id)
	return r, err
}

// DeleteCanned removes a canned response and returns what it was.
func (s *Service) DeleteCanned(ctx context.Context, wsID, id int64) (models.CannedResponse, error) {
	var deleted models.CannedResponse
	err := s.deleteScoped(ctx, &deleted, wsID, id, "canned_response", "canned.delete", func() map[string]any { return cannedFacts(deleted) })
	return deleted, err
}

func cannedFacts(r models.CannedResponse) map[string]any {
	return map[string]any{"shortcut": "/" + r.Shortcut, "title": r.Title, "body": r.Body}
}

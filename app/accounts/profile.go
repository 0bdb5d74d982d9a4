package accounts

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
)

// AvatarColors are the colours one may choose for one's initials (name → CSS colour).
var AvatarColors = []struct{ Key, Label, CSS string }{
	{"", "Verde Atiende", "#2f4f4c"},
	{"blue", "Azul", "#1d4ed8"},
	{"violet", "Violeta", "#6d28d9"},
	{"rose", "Rosa", "#be185d"},
	{"orange", "Naranja", "#c2410c"},
	{"amber", "Ámbar", "#a16207"},
	{"teal", "Turquesa", "#0f766e"},
	{"slate", "Gris", "#475569"},
}

// AvatarCSS is the CSS colour of an avatar colour key ("" for an unknown key).
func AvatarCSS(key string) string {
	for _, c := range AvatarColors {
		if c.Key == key {
			return c.CSS
		}
	}
	return ""
}

// ProfileInput is what a user may change about themselves.
type ProfileInput struct {
	Name           string
	AvatarColor    string
	NotifyAssigned bool
	NotifyMentions bool
	NotifyTasks    bool
}

// MaxNameLen bounds a person's name.
const MaxNameLen = 80

// UpdateProfile saves v's own name, colour and notification preferences.
func (s *Service) UpdateProfile(ctx context.Context, v Viewer, in ProfileInput) error {
	in.Name = strings.TrimSpace(in.Name)
	errs := apperr.Validation{}
	switch {
	case in.Name == "":
		errs.Add("name", "Escribe tu nombre")
	case utf8.RuneCountInString(in.Name) > MaxNameLen:
		errs.Add("name", fmt.Sprintf("El nombre puede tener hasta %d caracteres", MaxNameLen))
	}
	known := false
	for _, c := range AvatarColors {
		known = known || c.Key == in.AvatarColor
	}
	if !known {
		errs.Add("avatar_color", "Elige uno de los colores de la lista")
	}
	if len(errs) > 0 {
		return errs
	}
	return s.DB.WithContext(ctx).Model(&models.User{}).Where("id = ? AND workspace_id = ?", v.User.ID, v.Workspace.ID).
		Updates(map[string]any{"name": in.Name, "avatar_color": in.AvatarColor, "notify_assigned": in.NotifyAssigned,
			"notify_mentions": in.NotifyMentions, "notify_tasks": in.NotifyTasks, "updated_at": s.Clock.Now()}).Error
}

// ChangePassword sets v's password to next after checking current (someone at an
// unattended, signed-in screen must not be able to take the account over).
func (s *Service) ChangePassword(ctx context.Context, v Viewer, current, next, confirm, ip string) error {
	var hash string
	if err := s.DB.WithContext(ctx).Model(&models.User{}).Where("id = ? AND workspace_id = ?", v.User.ID, v.Workspace.ID).
		Pluck("password_hash", &hash).Error; err != nil {
		return err
	}
	errs := apperr.Validation{}
	if current == "" {
		errs.Add("current_password", "Escribe tu contraseña actual")
	} else if bcrypt.CompareHashAndPassword([]byte(hash), []byte(current)) != nil {
		errs.Add("current_password", "La contraseña actual no es correcta")
	}
	switch {
	case utf8.RuneCountInString(next) < minPasswordLen:
		errs.Add("new_password", fmt.Sprintf("La nueva contraseña debe tener al menos %d caracteres", minPasswordLen))
	case next != confirm:
		errs.Add("confirm_password", "Las dos contraseñas nuevas no coinciden")
	case next == current:
		errs.Add("new_password", "La nueva contraseña debe ser distinta de la actual")
	}
	if len(errs) > 0 {
		return errs
	}
	newHash, err := bcrypt.GenerateFromPassword([]byte(next), s.cost())
	if err != nil {
		return err
	}
	if err := s.DB.WithContext(ctx).Model(&models.User{}).Where("id = ? AND workspace_id = ?", v.User.ID, v.Workspace.ID).
		Updates(map[string]any{"password_hash": string(newHash), "updated_at": s.Clock.Now()}).Error; err != nil {
		return err
	}
	return s.Audit(ctx, v.Workspace.ID, &v.User.ID, "password_changed", "user", &v.User.ID, ip)
}

package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// WhatsApp's limits for an interactive menu: up to 3 reply buttons, else a list of up
// to 10 rows, the body 1024 characters. An option's title may be longer than a button
// (20) or a row (24) shows: WhatsApp gets it shortened, with the whole title as the
// row's description (72), and the numbered text menu and the answers use it whole.
const (
	MaxMenuOptions = 10
	MaxButtons     = 3
	MaxOptionTitle = whatsapp.RowDescriptionMax
	MaxMenuText    = 1024
)

// Menu is a channel's welcome menu with its options read.
type Menu struct {
	models.ChannelMenu
	Options []models.MenuOption
	Exists  bool
}

// ErrNoChannel: no such channel in the workspace.
var ErrNoChannel = apperr.NotFound{Msg: "No existe ese canal."}

// Menu returns channel chID's welcome menu (Exists false when it has none yet).
func (s *Service) Menu(ctx context.Context, wsID, chID int64) (models.Channel, Menu, error) {
	var ch models.Channel
	db := s.DB.WithContext(ctx)
	if err := db.Where("workspace_id = ? AND id = ?", wsID, chID).Take(&ch).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ch, Menu{}, ErrNoChannel
		}
		return ch, Menu{}, err
	}
	var m models.ChannelMenu
	if err := db.Where("channel_id = ?", chID).Limit(1).Find(&m).Error; err != nil {
		return ch, Menu{}, err
	}
	out := Menu{ChannelMenu: m, Exists: m.ID != 0}
	_ = json.Unmarshal(m.Options, &out.Options)
	return ch, out, nil
}

// Menus returns, per channel id, whether it has an active menu and how many options.
func (s *Service) Menus(ctx context.Context, wsID int64) (map[int64]Menu, error) {
	var rows []models.ChannelMenu
	if err := s.DB.WithContext(ctx).Where("workspace_id = ?", wsID).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := map[int64]Menu{}
	for _, m := range rows {
		mm := Menu{ChannelMenu: m, Exists: true}
		_ = json.Unmarshal(m.Options, &mm.Options)
		out[m.ChannelID] = mm
	}
	return out, nil
}

// MenuInput is what saving a menu takes; options with every field empty are ignored.
type MenuInput struct {
	Text    string
	Active  bool
	Options []models.MenuOption
}

// SaveMenu creates or replaces channel chID's welcome menu.
func (s *Service) SaveMenu(ctx context.Context, wsID, chID int64, in MenuInput) (Menu, error) {
	var out Menu
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ch models.Channel
		if err := tx.Where("workspace_id = ? AND id = ?", wsID, chID).Take(&ch).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNoChannel
			}
			return err
		}
		v := apperr.Validation{}
		in.Text = strings.TrimSpace(in.Text)
		switch {
		case in.Text == "":
			v.Add("text", "Escribe el saludo que acompaña al menú, por ejemplo «Hola 👋 ¿Con quién quieres hablar?»")
		case utf8.RuneCountInString(in.Text) > MaxMenuText:
			v.Add("text", fmt.Sprintf("El texto puede tener hasta %d caracteres", MaxMenuText))
		}
		var opts []models.MenuOption
		keys := map[string]bool{}
		for i, o := range in.Options {
			o.Key, o.Title = strings.TrimSpace(o.Key), strings.Join(strings.Fields(o.Title), " ")
			if o.Key == "" && o.Title == "" && o.TeamID == nil && o.LabelID == nil {
				continue
			}
			f := fmt.Sprintf("option_%d", i)
			switch {
			case o.Key == "":
				v.Add(f, "Escribe la clave de la opción (lo que el cliente responde), por ejemplo «1»")
			case utf8.RuneCountInString(o.Key) > 20:
				v.Add(f, "La clave puede tener hasta 20 caracteres")
			case keys[strings.ToLower(o.Key)]:
				v.Add(f, fmt.Sprintf("La clave «%s» se repite: cada opción necesita la suya", o.Key))
			case o.Title == "":
				v.Add(f, "Escribe el título de la opción")
			case utf8.RuneCountInString(o.Title) > MaxOptionTitle:
				v.Add(f, fmt.Sprintf("El título puede tener hasta %d caracteres: acorta «%s»", MaxOptionTitle, o.Title))
			case o.TeamID == nil:
				v.Add(f, "Elige un equipo para la opción «"+o.Title+"»")
			case !exists(tx, "teams", wsID, *o.TeamID):
				v.Add(f, "Ese equipo no existe")
			case o.LabelID != nil && !exists(tx, "labels", wsID, *o.LabelID):
				v.Add(f, "Esa etiqueta no existe")
			}
			keys[strings.ToLower(o.Key)] = true
			opts = append(opts, o)
		}
		switch {
		case len(opts) == 0:
			v.Add("options", "Añade al menos una opción")
		case len(opts) > MaxMenuOptions:
			v.Add("options", fmt.Sprintf("WhatsApp muestra hasta %d opciones", MaxMenuOptions))
		}
		if len(v) > 0 {
			return v
		}
		oj, _ := json.Marshal(opts)
		var m models.ChannelMenu
		if err := tx.Clauses(forUpdate).Where("channel_id = ?", chID).Limit(1).Find(&m).Error; err != nil {
			return err
		}
		before := map[string]any{}
		if m.ID != 0 {
			before = map[string]any{"text": m.Text, "options": string(m.Options), "active": m.Active}
		}
		now := s.Clock.Now()
		if m.ID == 0 {
			m = models.ChannelMenu{WorkspaceID: wsID, ChannelID: chID, CreatedAt: now}
		}
		m.Text, m.Options, m.Active, m.UpdatedAt = in.Text, oj, in.Active, now
		if err := tx.Save(&m).Error; err != nil {
			return err
		}
		out = Menu{ChannelMenu: m, Options: opts, Exists: true}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.MenuUpdate, TargetType: "channel", TargetID: chID,
			Before: before, After: map[string]any{"text": m.Text, "options": string(m.Options), "active": m.Active}})
	})
	return out, err
}

// DeleteMenu removes channel chID's welcome menu.
func (s *Service) DeleteMenu(ctx context.Context, wsID, chID int64) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var m models.ChannelMenu
		if err := tx.Clauses(forUpdate).Where("workspace_id = ? AND channel_id = ?", wsID, chID).Limit(1).Find(&m).Error; err != nil {
			return err
		}
		if m.ID == 0 {
			return ErrNoChannel
		}
		if err := tx.Delete(&m).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.MenuUpdate, TargetType: "channel", TargetID: chID,
			Before: map[string]any{"text": m.Text, "options": string(m.Options)}, After: map[string]any{"deleted": true}})
	})
}

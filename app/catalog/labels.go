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

// Colors offered for labels (the demo uses Ventas green, Soporte blue, Cobranzas orange).
const (
	ColorGreen  = "#16a34a"
	ColorBlue   = "#2563eb"
	ColorOrange = "#ea580c"
	ColorRed    = "#dc2626"
	ColorPurple = "#7c3aed"
	ColorPink   = "#db2777"
	ColorTeal   = "#0d9488"
	ColorGray   = "#64748b"
)

// Swatch is a named label colour.
type Swatch struct {
	Color, Name string
}

// Palette lists the label colours forms offer, in order.
var Palette = []Swatch{
	{ColorGreen, "Verde"}, {ColorBlue, "Azul"}, {ColorOrange, "Naranja"}, {ColorRed, "Rojo"},
	{ColorPurple, "Morado"}, {ColorPink, "Rosa"}, {ColorTeal, "Turquesa"}, {ColorGray, "Gris"},
}

// MaxLabelName is the longest label name: labels are chips on cards, so keep them short.
const MaxLabelName = 30

var colorRe = regexp.MustCompile(`^#[0-9a-f]{6}$`)

// LabelInput is what creating a label takes.
type LabelInput struct {
	Name  string
	Color string // #rrggbb; empty means gray
}

func (in *LabelInput) normalize() {
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	in.Color = strings.ToLower(strings.TrimSpace(in.Color))
	if in.Color == "" {
		in.Color = ColorGray
	}
}

func (in LabelInput) validate() apperr.Validation {
	v := apperr.Validation{}
	switch {
	case in.Name == "":
		v.Add("name", "Escribe el nombre de la etiqueta, por ejemplo «Ventas»")
	case utf8.RuneCountInString(in.Name) > MaxLabelName:
		v.Add("name", fmt.Sprintf("El nombre puede tener hasta %d caracteres: se muestra en las tarjetas", MaxLabelName))
	}
	if !colorRe.MatchString(in.Color) {
		v.Add("color", "Elige un color de la lista")
	}
	return v
}

// LabelRow is a label with how many conversations carry it.
type LabelRow struct {
	models.Label
	Conversations int
}

// CreateLabel adds a label; names are unique per workspace (any case).
func (s *Service) CreateLabel(ctx context.Context, wsID int64, in LabelInput) (models.Label, error) {
	in.normalize()
	if v := in.validate(); len(v) > 0 {
		return models.Label{}, v
	}
	l := models.Label{WorkspaceID: wsID, Name: in.Name, Color: in.Color, CreatedAt: s.Clock.Now()}
	err := s.createAudited(ctx, wsID, &l, "label", "label.create", func() int64 { return l.ID },
		func() map[string]any { return map[string]any{"name": l.Name, "color": l.Color} })
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return l, apperr.Validation{"name": fmt.Sprintf("Ya existe la etiqueta «%s»", in.Name)}
	}
	return l, err
}

// EnsureLabel returns the workspace's label called name (any case), creating it with
// color when missing; an existing label keeps its colour (demo data, imports).
func (s *Service) EnsureLabel(ctx context.Context, wsID int64, name, color string) (models.Label, error) {
	in := LabelInput{Name: name, Color: color}
	in.normalize()
	if v := in.validate(); len(v) > 0 {
		return models.Label{}, v
	}
	var l models.Label
	err := s.DB.WithContext(ctx).Raw(`
		INSERT INTO labels (workspace_id, name, color, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (workspace_id, lower(name)) DO UPDATE SET name = labels.name
		RETURNING *`, wsID, in.Name, in.Color, s.Clock.Now()).Scan(&l).Error
	return l, err
}

// Labels returns the workspace's labels by name (for filters, editors and settings).
func (s *Service) Labels(ctx context.Context, wsID int64) ([]models.Label, error) {
	var out []models.Label
	err := s.DB.WithContext(ctx).Where("workspace_id = ?", wsID).Order("lower(name)").Find(&out).Error
	return out, err
}

// LabelRows returns the workspace's labels by name with their conversation counts, in one query.
func (s *Service) LabelRows(ctx context.Context, wsID int64) ([]LabelRow, error) {
	var out []LabelRow
	err := s.DB.WithContext(ctx).Raw(`
		SELECT l.*, (SELECT count(*) FROM conversation_labels cl WHERE cl.label_id = l.id) AS conversations
		FROM labels l WHERE l.workspace_id = ? ORDER BY lower(l.name)`, wsID).Scan(&out).Error
	return out, err
}

// Label returns one label of the workspace.
func (s *Service) Label(ctx context.Context, wsID, id int64) (models.Label, error) {
	var l models.Label
	err := s.getScoped(ctx, &l, wsID, id)
	return l, err
}

// DeleteLabel removes a label (the foreign key takes it off every conversation) and
// returns what it was.
func (s *Service) DeleteLabel(ctx context.Context, wsID, id int64) (models.Label, error) {
	var deleted models.Label
	err := s.deleteScoped(ctx, &deleted, wsID, id, "label", "label.delete",
		func() map[string]any { return map[string]any{"name": deleted.Name, "color": deleted.Color} })
	return deleted, err
}

// NextColor suggests a colour for a new label: the first of the Palette no label uses yet.
func NextColor(labels []models.Label) string {
	used := map[string]bool{}
	for _, l := range labels {
		used[strings.ToLower(l.Color)] = true
	}
	for _, s := range Palette {
		if !used[s.Color] {
			return s.Color
		}
	}
	return Palette[0].Color
}

package contacts

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/models"
)

// FieldKinds are the kinds of custom fields, with their Spanish names.
var FieldKinds = []struct{ Kind, Label string }{
	{models.FieldText, "Texto"}, {models.FieldNumber, "Número"}, {models.FieldDate, "Fecha"}, {models.FieldSelect, "Lista de opciones"},
}

// Field is a custom field with its options decoded.
type Field struct {
	models.ContactField
	Choices []string
}

// Fields returns the workspace's custom contact fields in order.
func (s *Service) Fields(ctx context.Context, ws int64) ([]Field, error) {
	var rows []models.ContactField
	if err := s.DB.WithContext(ctx).Where("workspace_id = ?", ws).Order("position, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Field, len(rows))
	for i, r := range rows {
		out[i] = Field{ContactField: r}
		_ = json.Unmarshal(r.Options, &out[i].Choices)
	}
	return out, nil
}

// FieldInput is a new custom field.
type FieldInput struct {
	Label   string
	Kind    string
	Options string // one per line (select)
}

var accents = strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ü", "u", "ñ", "n", "à", "a", "è", "e", "ç", "c")

var keyClean = regexp.MustCompile(`[^a-z0-9]+`)

// fieldKey turns a label into a stable key ("Fecha de nacimiento" → fecha_de_nacimiento).
func fieldKey(label string) string {
	t := accents.Replace(strings.ToLower(label))
	return strings.Trim(keyClean.ReplaceAllString(t, "_"), "_")
}

// CreateField adds a custom field (admins).
func (s *Service) CreateField(ctx context.Context, v accounts.Viewer, in FieldInput) (models.ContactField, error) {
	errs := apperr.Validation{}
	label := strings.TrimSpace(in.Label)
	key := fieldKey(label)
	switch {
	case label == "" || key == "":
		errs.Add("label", "Escribe el nombre del campo.")
	case utf8.RuneCountInString(label) > 60:
		errs.Add("label", "El nombre puede tener hasta 60 caracteres.")
	}
	valid := false
	for _, k := range FieldKinds {
		valid = valid || k.Kind == in.Kind
	}
	if !valid {
		errs.Add("kind", "Elige el tipo del campo.")
	}
	var opts []string
	if in.Kind == models.FieldSelect {
		seen := map[string]bool{}
		for _, o := range strings.Split(in.Options, "\n") {
			if o = strings.TrimSpace(o); o != "" && !seen[strings.ToLower(o)] {
				seen[strings.ToLower(o)] = true
				opts = append(opts, o)
			}
		}
		if len(opts) < 2 {
			errs.Add("options", "Escribe al menos dos opciones, una por línea.")
		}
	}
	if err := errs.Err(); err != nil {
		return models.ContactField{}, err
	}
	if opts == nil {
		opts = []string{}
	}
	b, _ := json.Marshal(opts)
	f := models.ContactField{WorkspaceID: v.Workspace.ID, Key: key, Label: label, Kind: in.Kind, Options: b, CreatedAt: s.Clock.Now()}
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT COALESCE(max(position), 0) + 1 FROM contact_fields WHERE workspace_id = ?`, v.Workspace.ID).Scan(&f.Position).Error; err != nil {
			return err
		}
		if err := tx.Create(&f).Error; err != nil {
			if isUniqueViolation(err) {
				return apperr.Validation{"label": "Ya existe un campo con ese nombre."}
			}
			return err
		}
		return audit(tx, v.Workspace.ID, &v.User.ID, "contact_field.create", "contact_field", f.ID, map[string]any{"label": label}, f.CreatedAt)
	})
	return f, err
}

// DeleteField removes a custom field definition (values stay in contacts.custom, unseen).
func (s *Service) DeleteField(ctx context.Context, v accounts.Viewer, id int64) (models.ContactField, error) {
	var f models.ContactField
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw(`DELETE FROM contact_fields WHERE id = ? AND workspace_id = ? RETURNING *`, id, v.Workspace.ID).Scan(&f).Error; err != nil {
			return err
		}
		if f.ID == 0 {
			return apperr.NotFound{Msg: "No existe ese campo."}
		}
		return audit(tx, v.Workspace.ID, &v.User.ID, "contact_field.delete", "contact_field", id, map[string]any{"label": f.Label}, s.Clock.Now())
	})
	return f, err
}

// CheckValue validates a value for a field and returns it normalised ("" clears), or
// a message for people.
func CheckValue(f Field, val string) (string, string) {
	val = strings.TrimSpace(val)
	if val == "" {
		return "", ""
	}
	switch f.Kind {
	case models.FieldNumber:
		v := strings.ReplaceAll(val, ",", ".")
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return "", f.Label + ": escribe un número, como 1500 o 12.5."
		}
		return v, ""
	case models.FieldDate:
		for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006"} {
			if t, err := time.Parse(layout, val); err == nil {
				return t.Format("2006-01-02"), ""
			}
		}
		return "", f.Label + ": escribe una fecha como 31/12/2026."
	case models.FieldSelect:
		for _, c := range f.Choices {
			if strings.EqualFold(c, val) {
				return c, ""
			}
		}
		return "", f.Label + ": elige una de las opciones (" + strings.Join(f.Choices, ", ") + ")."
	}
	if utf8.RuneCountInString(val) > 500 {
		return "", f.Label + ": puede tener hasta 500 caracteres."
	}
	return val, ""
}

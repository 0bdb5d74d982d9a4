package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// TemplateUsable reports whether t may be sent by a rule on a conversation of a
// channel of WhatsApp Business Account waba: approved (or registered by hand), of that
// account, without a media header or URL buttons a rule could not fill.
func TemplateUsable(t models.Template, waba string) error {
	if t.Status != "" && t.Status != "approved" {
		return apperr.Validation{"template": "Esta plantilla no está aprobada por Meta: elige otra."}
	}
	if t.WabaID != "" && waba != "" && t.WabaID != waba {
		return apperr.Validation{"template": "Esta plantilla es de otra cuenta de WhatsApp Business que el número de la conversación."}
	}
	spec := whatsapp.ParseTemplate(t.Components, t.Body)
	if spec.MediaHeader() || spec.DynamicButtons() > 0 || len(spec.HeaderParams) > 0 {
		return apperr.Validation{"template": "Las automatizaciones envían plantillas de solo texto: esta lleva un archivo, variables en el encabezado o enlaces variables."}
	}
	return nil
}

// SendTemplateAuto sends an approved text template as an automatic message of a
// non-person actor (an automation): body holds every variable's value, by name or
// number. It never counts as an agent reply.
func (s *Service) SendTemplateAuto(ctx context.Context, a Actor, convID, templateID int64, body map[string]string) (models.Message, error) {
	var m models.Message
	err := s.locked(ctx, a, convID, func(tx *gorm.DB, c *models.Conversation) error {
		var t models.Template
		err := tx.Where("id = ? AND workspace_id = ?", templateID, c.WorkspaceID).Take(&t).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return apperr.Validation{"template": "La plantilla ya no existe"}
		}
		if err != nil {
			return err
		}
		var waba string
		if err := tx.Model(&models.Channel{}).Where("id = ?", c.ChannelID).Pluck("waba_id", &waba).Error; err != nil {
			return err
		}
		if err := TemplateUsable(t, waba); err != nil {
			return err
		}
		spec := whatsapp.ParseTemplate(t.Components, t.Body)
		vals := whatsapp.TemplateValues{Body: map[string]string{}, Buttons: map[int]string{}}
		for _, k := range spec.BodyParams {
			v := strings.TrimSpace(strings.ReplaceAll(body[k], "\n", " "))
			if v == "" {
				return apperr.Validation{"params": fmt.Sprintf("Falta el valor {{%s}}", k)}
			}
			vals.Body[k] = v
		}
		text := whatsapp.FillVars(spec.Body, vals.Body)
		if spec.HeaderFormat == "TEXT" && spec.HeaderText != "" {
			text = "*" + spec.HeaderText + "*\n" + text
		}
		waID, err := s.contactWaID(tx, c.ContactID)
		if err != nil {
			return err
		}
		payload := whatsapp.TemplateMessageBody(waID, t.Name, t.Language, spec, vals)
		m, err = s.sendOut(tx, a, c, s.Clock.Now(), CmdAuto, models.KindTemplate, text, waID, payload)
		if err != nil {
			return err
		}
		data, _ := json.Marshal(map[string]string{"template": t.Name, "language": t.Language})
		return tx.Model(&m).Update("data", models.JSON(data)).Error
	})
	return m, err
}

package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// TemplateSend is what an agent fills in to send a template synchronised from Meta:
// the header's variables or file, the body's variables by name ("nombre") or number
// ("1"), and the values of URL buttons that end in a variable, by button index.
type TemplateSend struct {
	TemplateID int64
	Header     []string
	Body       map[string]string
	Buttons    map[int]string
	HeaderFile *Attachment
}

// OfferedTemplates keeps the templates a conversation on channel chID may send: the
// approved ones of the channel's WhatsApp Business Account and those registered by hand.
func (s *Service) OfferedTemplates(ctx context.Context, all []TemplateOption, chID int64) ([]TemplateOption, error) {
	var waba string
	if err := s.DB.WithContext(ctx).Model(&models.Channel{}).Where("id = ?", chID).Pluck("waba_id", &waba).Error; err != nil {
		return nil, err
	}
	var out []TemplateOption
	for _, t := range all {
		if (t.Status == "" || t.Status == "approved") && (t.WabaID == "" || t.WabaID == waba) {
			out = append(out, t)
		}
	}
	return out, nil
}

// SendMetaTemplate sends an approved template with header media, named or positional
// variables and URL button values (allowed outside the 24-hour window). A header
// file is stored and uploaded like an attachment.
func (s *Service) SendMetaTemplate(ctx context.Context, v accounts.Viewer, convID int64, in TemplateSend) (models.Message, error) {
	var t models.Template
	err := s.DB.WithContext(ctx).Where("id = ? AND workspace_id = ?", in.TemplateID, v.Workspace.ID).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.Message{}, apperr.Validation{"template": "Elige una plantilla de la lista"}
	}
	if err != nil {
		return models.Message{}, err
	}
	if t.Status != "" && t.Status != "approved" {
		return models.Message{}, apperr.Validation{"template": "Esta plantilla no está aprobada por Meta: elige otra."}
	}
	spec := whatsapp.ParseTemplate(t.Components, t.Body)
	vals := whatsapp.TemplateValues{Body: map[string]string{}, Buttons: map[int]string{}}
	clean := func(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\n", " ")) }
	for i := range spec.HeaderParams {
		val := ""
		if i < len(in.Header) {
			val = clean(in.Header[i])
		}
		if val == "" {
			return models.Message{}, apperr.Validation{"params": "Completa la variable del encabezado"}
		}
		vals.Header = append(vals.Header, val)
	}
	for _, k := range spec.BodyParams {
		val := clean(in.Body[k])
		if val == "" {
			return models.Message{}, apperr.Validation{"params": fmt.Sprintf("Completa el valor {{%s}}", k)}
		}
		if utf8.RuneCountInString(val) > 1000 {
			return models.Message{}, apperr.Validation{"params": fmt.Sprintf("El valor {{%s}} es demasiado largo", k)}
		}
		vals.Body[k] = val
	}
	for i, b := range spec.Buttons {
		if !b.Dynamic {
			continue
		}
		val := clean(in.Buttons[i])
		if val == "" {
			return models.Message{}, apperr.Validation{"params": fmt.Sprintf("Completa el enlace del botón «%s»", b.Text)}
		}
		vals.Buttons[i] = val
	}
	var md *models.Media
	mimeType := ""
	if spec.MediaHeader() {
		if in.HeaderFile == nil || in.HeaderFile.Data == nil {
			return models.Message{}, apperr.Validation{"file": fmt.Sprintf("Esta plantilla lleva %s en el encabezado: elige el archivo.", headerNoun(spec.HeaderKind()))}
		}
		limit, ok := whatsapp.SendableMedia(in.HeaderFile.MimeType)
		if !ok || limit.Kind != spec.HeaderKind() {
			return models.Message{}, apperr.Validation{"file": fmt.Sprintf("El encabezado de esta plantilla es %s: %s", headerNoun(spec.HeaderKind()), headerTypes(spec.HeaderKind()))}
		}
		var chID int64
		if err := s.DB.WithContext(ctx).Model(&models.Conversation{}).Where("id = ? AND workspace_id = ?", convID, v.Workspace.ID).
			Pluck("channel_id", &chID).Error; err != nil {
			return models.Message{}, err
		}
		if chID == 0 {
			return models.Message{}, apperr.ErrNotFound
		}
		mimeType = strings.ToLower(strings.TrimSpace(strings.SplitN(in.HeaderFile.MimeType, ";", 2)[0]))
		stored, err := s.storeOutgoing(ctx, v.Workspace.ID, chID, mimeType, cleanFilename(in.HeaderFile.Filename, limit.Kind), in.HeaderFile.Data, limit)
		if err != nil {
			return models.Message{}, err
		}
		md = &stored
		vals.MediaID = whatsapp.MediaIDPlaceholder
		if spec.HeaderFormat == "DOCUMENT" {
			vals.Caption = stored.Filename
		}
	}
	text := whatsapp.FillVars(spec.Body, vals.Body)
	if spec.HeaderFormat == "TEXT" && spec.HeaderText != "" {
		h := spec.HeaderText
		for i, k := range spec.HeaderParams {
			h = strings.ReplaceAll(h, "{{"+k+"}}", vals.Header[i])
		}
		text = "*" + h + "*\n" + text
	}
	var m models.Message
	err = s.locked(ctx, By(v), convID, func(tx *gorm.DB, c *models.Conversation) error {
		if md != nil && md.ChannelID != c.ChannelID {
			return apperr.Conflict{Msg: "La conversación cambió de número mientras subías el archivo: vuelve a enviarlo."}
		}
		if t.WabaID != "" {
			var waba string
			if err := tx.Model(&models.Channel{}).Where("id = ?", c.ChannelID).Pluck("waba_id", &waba).Error; err != nil {
				return err
			}
			if waba != t.WabaID {
				return apperr.Validation{"template": "Esta plantilla es de otra cuenta de WhatsApp Business: elige una del número de esta conversación."}
			}
		}
		waID, err := s.contactWaID(tx, c.ContactID)
		if err != nil {
			return err
		}
		payload := whatsapp.TemplateMessageBody(waID, t.Name, t.Language, spec, vals)
		m, err = s.sendOut(tx, By(v), c, s.Clock.Now(), CmdReply, models.KindTemplate, text, waID, payload)
		if err != nil {
			return err
		}
		data, _ := json.Marshal(map[string]string{"template": t.Name, "language": t.Language})
		up := map[string]any{"data": models.JSON(data)}
		if md != nil {
			up["media_id"], up["media_mime"] = md.MediaID, mimeType
			m.MediaID, m.MediaMime = md.MediaID, mimeType
		}
		if err := tx.Model(&m).Updates(up).Error; err != nil {
			return err
		}
		if md != nil {
			return tx.Model(&models.Outbox{}).Where("message_id = ?", m.ID).Update("media_row_id", md.ID).Error
		}
		return nil
	})
	if err != nil && md != nil {
		s.DB.WithContext(context.WithoutCancel(ctx)).Where("id = ?", md.ID).Delete(&models.Media{})
	}
	return m, err
}

func headerNoun(kind string) string {
	switch kind {
	case "image":
		return "una imagen"
	case "video":
		return "un video"
	}
	return "un documento"
}

func headerTypes(kind string) string {
	switch kind {
	case "image":
		return "elige una foto JPG o PNG de hasta 5 MB."
	case "video":
		return "elige un video MP4 o 3GP de hasta 16 MB."
	}
	return "elige un PDF o un documento de Office de hasta 100 MB."
}

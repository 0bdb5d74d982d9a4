package inbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// MaxCaption is the longest caption WhatsApp accepts on a file, in characters.
const MaxCaption = 1024

// Attachment is a file an agent sends: its type and name as the browser gave them,
// and its bytes, read once as they arrive.
type Attachment struct {
	Filename string
	MimeType string
	Caption  string
	Data     io.Reader
}

// attachChunk is how much of a file goes to the database per statement.
const attachChunk = 4 << 20

// ErrFileTooLarge is returned, worded for agents, when a file goes over WhatsApp's
// limit for its type.
func fileTooLarge(l whatsapp.MediaLimit) apperr.Validation {
	what := map[string]string{"image": "Las imágenes", "audio": "Los audios", "video": "Los videos", "document": "Los documentos"}[l.Kind]
	return apperr.Validation{"file": fmt.Sprintf("El archivo es demasiado grande: %s pueden pesar hasta %d MB en WhatsApp.", what, l.MaxBytes>>20)}
}

// UnsupportedFile is the error for a type WhatsApp does not take.
var UnsupportedFile = apperr.Validation{"file": "WhatsApp no admite este tipo de archivo. Envía imágenes JPG o PNG, PDF, documentos de Office o texto, audio (MP3, OGG, AAC, AMR, M4A) o video MP4 o 3GP."}

// SendAttachment sends a file (image, audio, video or document) with an optional
// caption as v, like Reply: inside the 24-hour window, through the outbox, which
// uploads the file to the Graph API and then sends the message with its media id.
// The file is streamed into the media table (a chunk at a time, never whole in
// memory) and shows in the history like the files customers send.
func (s *Service) SendAttachment(ctx context.Context, v accounts.Viewer, convID int64, a Attachment) (models.Message, error) {
	limit, ok := whatsapp.SendableMedia(a.MimeType)
	if !ok {
		return models.Message{}, UnsupportedFile
	}
	caption := strings.TrimSpace(strings.ReplaceAll(a.Caption, "\r\n", "\n"))
	if utf8.RuneCountInString(caption) > MaxCaption {
		return models.Message{}, apperr.Validation{"caption": fmt.Sprintf("El texto que acompaña al archivo puede tener hasta %d caracteres.", MaxCaption)}
	}
	if limit.Kind == "audio" && caption != "" {
		return models.Message{}, apperr.Validation{"caption": "WhatsApp no permite texto junto a un audio: envíalo como un mensaje aparte."}
	}
	filename := cleanFilename(a.Filename, limit.Kind)
	mimeType := strings.ToLower(strings.TrimSpace(strings.SplitN(a.MimeType, ";", 2)[0]))

	// The conversation must exist for v before a byte is stored; the send checks again.
	var chID int64
	if err := s.DB.WithContext(ctx).Model(&models.Conversation{}).Where("id = ? AND workspace_id = ?", convID, v.Workspace.ID).
		Pluck("channel_id", &chID).Error; err != nil {
		return models.Message{}, err
	}
	if chID == 0 {
		return models.Message{}, apperr.ErrNotFound
	}
	// Stored first, in its own transaction, so the conversation is never locked while
	// a large file arrives.
	md, err := s.storeOutgoing(ctx, v.Workspace.ID, chID, mimeType, filename, a.Data, limit)
	if err != nil {
		return models.Message{}, err
	}
	var m models.Message
	err = s.locked(ctx, By(v), convID, func(tx *gorm.DB, c *models.Conversation) error {
		now := s.Clock.Now()
		if !WindowOpen(c.LastInboundAt, now) {
			return ErrWindowClosed
		}
		if c.ChannelID != md.ChannelID {
			return apperr.Conflict{Msg: "La conversación cambió de número mientras subías el archivo: vuelve a enviarlo."}
		}
		waID, err := s.contactWaID(tx, c.ContactID)
		if err != nil {
			return err
		}
		body := whatsapp.MediaBody(waID, limit.Kind, whatsapp.MediaIDPlaceholder, caption, filename)
		m, err = s.sendOut(tx, By(v), c, now, CmdReply, limit.Kind, caption, waID, body)
		if err != nil {
			return err
		}
		m.MediaID, m.MediaMime = md.MediaID, mimeType
		if err := tx.Model(&m).Updates(map[string]any{"media_id": md.MediaID, "media_mime": mimeType}).Error; err != nil {
			return err
		}
		// sendOut queued the message; its row must upload the file before sending.
		return tx.Model(&models.Outbox{}).Where("message_id = ?", m.ID).Update("media_row_id", md.ID).Error
	})
	if err != nil {
		// Not sent: the stored file goes too.
		s.DB.WithContext(context.WithoutCancel(ctx)).Where("id = ?", md.ID).Delete(&models.Media{})
		return models.Message{}, err
	}
	return m, nil
}

// storeOutgoing writes a file into a new media row, chunk by chunk, and fails with an
// agent-worded error when it is empty or goes over the limit of its type.
func (s *Service) storeOutgoing(ctx context.Context, wsID, chID int64, mimeType, filename string, r io.Reader, limit whatsapp.MediaLimit) (models.Media, error) {
	rnd := make([]byte, 12)
	_, _ = rand.Read(rnd)
	now := s.Clock.Now()
	md := models.Media{WorkspaceID: wsID, ChannelID: chID, MediaID: "out-" + hex.EncodeToString(rnd), MimeType: mimeType,
		Filename: filename, Outgoing: true, Data: []byte{}, FetchedAt: &now, CreatedAt: now}
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Omit("ID", "UploadID", "SHA256", "Error").Create(&md).Error; err != nil {
			return err
		}
		buf := make([]byte, attachChunk)
		for {
			n, rerr := io.ReadFull(r, buf)
			if n > 0 {
				if md.Size+int64(n) > limit.MaxBytes {
					return fileTooLarge(limit)
				}
				if err := tx.Exec(`UPDATE media SET data = data || ?, size = size + ? WHERE id = ?`, buf[:n], n, md.ID).Error; err != nil {
					return err
				}
				md.Size += int64(n)
			}
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				break
			}
			if rerr != nil {
				if tooBig := new(http.MaxBytesError); errors.As(rerr, &tooBig) {
					return fileTooLarge(limit)
				}
				return apperr.Validation{"file": "El archivo no llegó completo. Vuelve a intentarlo."}
			}
		}
		if md.Size == 0 {
			return apperr.Validation{"file": "El archivo está vacío."}
		}
		return nil
	})
	md.Data = nil
	return md, err
}

// cleanFilename keeps the base name of what the browser sent, or makes one up.
func cleanFilename(name, kind string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 32 || r == 127 || strings.ContainsRune(`"/\<>:|?*`, r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	if name == "" || name == "." {
		name = map[string]string{"image": "imagen", "audio": "audio", "video": "video", "document": "documento"}[kind]
	}
	return name
}

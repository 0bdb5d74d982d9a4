package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// Attachments: POST /conversations/:id/attachments (the composer) and multipart POST
// /api/v1/conversations/:id/messages. Both take `file` and an optional `caption`,
// spool the file to a temporary file as it arrives (so the caption may come before or
// after it, and memory holds one buffer, not the file) and hand it to the inbox, which
// stores it in the media table and queues it in the outbox.

// maxAttachBody bounds an attachment request: WhatsApp's largest file plus the form.
const maxAttachBody = whatsapp.MaxSendBytes + 1<<20

// attachmentLimit is the body limit of the attachment routes, in place of the 10 MB /
// 1 MB of the other routes.
func attachmentLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > maxAttachBody {
			return apperr.Validation{"file": "El archivo es demasiado grande: WhatsApp admite documentos de hasta 100 MB, y fotos de hasta 5 MB."}
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, maxAttachBody)
		return next(c)
	}
}

// spooledFile is an uploaded file on disk with the form's caption.
type spooledFile struct {
	f       *os.File
	name    string
	mime    string
	caption string
}

func (s *spooledFile) Close() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
	}
}

// readAttachment reads a multipart body part by part.
func readAttachment(c echo.Context) (*spooledFile, error) {
	r := c.Request()
	out := &spooledFile{}
	if r.MultipartForm != nil {
		// Already parsed (a plain form post whose CSRF field was read first).
		out.caption = r.FormValue("caption")
		fh, err := c.FormFile("file")
		if err != nil {
			return out, apperr.Validation{"file": "Elige un archivo para enviar."}
		}
		src, err := fh.Open()
		if err != nil {
			return out, err
		}
		defer src.Close()
		out.name, out.mime = fh.Filename, fh.Header.Get("Content-Type")
		return out, out.spool(src)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return out, apperr.Validation{"file": "Envía el archivo como multipart/form-data en el campo «file»."}
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, tooBigOr(err, apperr.Validation{"file": "El archivo no llegó completo. Vuelve a intentarlo."})
		}
		switch part.FormName() {
		case "caption":
			b, err := io.ReadAll(io.LimitReader(part, 8<<10))
			if err != nil {
				return out, tooBigOr(err, err)
			}
			out.caption = string(b)
		case "file":
			if out.f != nil {
				return out, apperr.Validation{"file": "Envía un archivo por mensaje."}
			}
			out.name, out.mime = part.FileName(), part.Header.Get("Content-Type")
			if err := out.spool(part); err != nil {
				return out, tooBigOr(err, apperr.Validation{"file": "El archivo no llegó completo. Vuelve a intentarlo."})
			}
		}
		part.Close()
	}
	if out.f == nil {
		return out, apperr.Validation{"file": "Elige un archivo para enviar."}
	}
	return out, nil
}

func (s *spooledFile) spool(src io.Reader) error {
	f, err := os.CreateTemp("", "atiende-upload-*")
	if err != nil {
		return err
	}
	s.f = f
	if _, err := io.Copy(f, src); err != nil {
		return err
	}
	_, err = f.Seek(0, io.SeekStart)
	// Browsers send application/octet-stream for types they do not know: go by the name.
	if mt, _, _ := mime.ParseMediaType(s.mime); mt == "" || mt == "application/octet-stream" {
		if byExt := mime.TypeByExtension(strings.ToLower(filepath.Ext(s.name))); byExt != "" {
			s.mime = byExt
		}
	}
	return err
}

func tooBigOr(err, other error) error {
	if tb := new(http.MaxBytesError); errors.As(err, &tb) {
		return apperr.Validation{"file": "El archivo es demasiado grande: WhatsApp admite documentos de hasta 100 MB, y fotos de hasta 5 MB."}
	}
	return other
}

// sendAttachment reads the request's file and sends it on conversation id.
func (s *Server) sendAttachment(c echo.Context, id int64) (models.Message, error) {
	f, err := readAttachment(c)
	defer f.Close()
	if err != nil {
		return models.Message{}, err
	}
	return s.Inbox.SendAttachment(c.Request().Context(), viewer(c), id, inbox.Attachment{
		Filename: f.name, MimeType: f.mime, Caption: f.caption, Data: f.f})
}

// conversationAttach is POST /conversations/:id/attachments from the composer.
func (s *Server) conversationAttach(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	if _, err := s.sendAttachment(c, id); err != nil {
		return s.explainLost(c.Request().Context(), c, id, err, "%s tomó esta conversación mientras subías el archivo: no se envió.")
	}
	return s.afterAction(c, id, "reply", goneTitle, goneMsg)
}

// apiSendMessageAny is POST /api/v1/conversations/:id/messages: JSON (a text reply or
// a note, limited to 1 MB) or multipart/form-data with file and caption.
func (s *Server) apiSendMessageAny(c echo.Context) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if !strings.HasPrefix(ct, echo.MIMEMultipartForm) {
		c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20)
		return s.apiSendMessage(c)
	}
	id, err := paramID(c)
	if err != nil {
		return apiFail(err)
	}
	m, err := s.sendAttachment(c, id)
	if err != nil {
		return apiFail(err)
	}
	v := viewer(c)
	return c.JSON(http.StatusCreated, map[string]any{"data": toAPIMessage(m, v.User.Name, v.User.Email)})
}

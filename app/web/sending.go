package web

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/views/pages/conversation"
)

// Templates from Meta (the picker's send and Configuración → Plantillas →
// "Sincronizar con Meta") and scheduled replies ("Programar envío").

// readFormWithFile reads a form that may carry one file in field fileField: multipart
// bodies are read part by part and the file spooled to disk; urlencoded ones as usual.
func readFormWithFile(c echo.Context, fileField string) (url.Values, *spooledFile, error) {
	r := c.Request()
	out := &spooledFile{}
	if !strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) || r.MultipartForm != nil {
		form, err := c.FormParams()
		if err != nil {
			return nil, out, err
		}
		if r.MultipartForm != nil {
			if fhs := r.MultipartForm.File[fileField]; len(fhs) > 0 && fhs[0].Size > 0 {
				src, err := fhs[0].Open()
				if err != nil {
					return nil, out, err
				}
				defer src.Close()
				out.name, out.mime = fhs[0].Filename, fhs[0].Header.Get("Content-Type")
				if err := out.spool(src); err != nil {
					return nil, out, err
				}
			}
		}
		return form, out, nil
	}
	form := url.Values{}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, out, apperr.Validation{"file": "El formulario no llegó completo. Vuelve a intentarlo."}
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, out, tooBigOr(err, apperr.Validation{"file": "El formulario no llegó completo. Vuelve a intentarlo."})
		}
		name := part.FormName()
		if name == fileField {
			if part.FileName() != "" && out.f == nil {
				out.name, out.mime = part.FileName(), part.Header.Get("Content-Type")
				if err := out.spool(part); err != nil {
					return nil, out, tooBigOr(err, apperr.Validation{"file": "El archivo no llegó completo. Vuelve a intentarlo."})
				}
				if st, _ := out.f.Stat(); st != nil && st.Size() == 0 {
					out.Close()
					out = &spooledFile{}
				}
			}
		} else if name != "" && len(form) < 200 {
			b, err := io.ReadAll(io.LimitReader(part, 16<<10))
			if err != nil {
				return nil, out, tooBigOr(err, err)
			}
			form.Add(name, string(b))
		}
		part.Close()
	}
	return form, out, nil
}

// conversationSendTemplate is POST /conversations/:id/templates: a template from the
// picker, with its header file (multipart), variables (var_NAME) and button values
// (button_INDEX).
func (s *Server) conversationSendTemplate(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	form, file, err := readFormWithFile(c, "header_file")
	defer file.Close()
	if err != nil {
		return err
	}
	tid, err := strconv.ParseInt(form.Get("template_id"), 10, 64)
	if err != nil {
		return apperr.Validation{"template": "Elige una plantilla de la lista"}
	}
	in := inbox.TemplateSend{TemplateID: tid, Body: map[string]string{}, Buttons: map[int]string{}}
	for k, vs := range form {
		switch {
		case strings.HasPrefix(k, "var_"):
			in.Body[strings.TrimPrefix(k, "var_")] = vs[0]
		case strings.HasPrefix(k, "button_"):
			if i, err := strconv.Atoi(strings.TrimPrefix(k, "button_")); err == nil {
				in.Buttons[i] = vs[0]
			}
		}
	}
	in.Header = form["header"]
	if file.f != nil {
		in.HeaderFile = &inbox.Attachment{Filename: file.name, MimeType: file.mime, Data: file.f}
	}
	ctx := c.Request().Context()
	if _, err := s.Inbox.SendMetaTemplate(ctx, viewer(c), id, in); err != nil {
		return s.explainLost(ctx, c, id, err, "%s tomó esta conversación mientras preparabas la plantilla: no se envió.")
	}
	return s.afterAction(c, id, "reply", goneTitle, goneMsg)
}

// offeredTemplates narrows the workspace's templates to those the conversation's
// number may send.
func (s *Server) offeredTemplates(c echo.Context, all []inbox.TemplateOption, chID int64) []inbox.TemplateOption {
	out, err := s.Inbox.OfferedTemplates(c.Request().Context(), all, chID)
	if err != nil {
		s.Logger.Warn("could not narrow the templates to the channel's account", "err", err)
		return all
	}
	return out
}

// templatesSync is POST /settings/templates/sync ("Sincronizar con Meta").
func (s *Server) templatesSync(c echo.Context) error {
	syncer := s.Services.Templates
	res, err := syncer.SyncWorkspace(c.Request().Context(), viewer(c).Workspace.ID)
	if err != nil {
		return err
	}
	if err := audit.Record(s.DB.Gorm.WithContext(c.Request().Context()), audit.Entry{WorkspaceID: viewer(c).Workspace.ID,
		Action: audit.SettingsChange, TargetType: "workspace", TargetID: viewer(c).Workspace.ID,
		Data: map[string]any{"change": "templates.sync", "synced": res.Synced, "removed": res.Removed}}); err != nil {
		return err
	}
	s.flash(c, res.Summary())
	return seeOther(c, "/settings/templates")
}

// parseLocal reads a datetime-local value ("2026-03-14T09:30") in the workspace's zone.
func parseLocal(v string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02T15:04", strings.TrimSpace(v), loc)
	if err != nil {
		return time.Time{}, apperr.Validation{"send_at": "Elige la fecha y la hora del envío."}
	}
	return t, nil
}

func (s *Server) scheduledList(c echo.Context, id int64, status int) error {
	v := viewer(c)
	list, err := s.Inbox.ScheduledFor(c.Request().Context(), v, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return renderComponent(c, status, conversation.ScheduledList(conversation.ScheduledProps{
		ConvID: id, Items: list, Now: s.Clock.Now(), Loc: v.Workspace.Location(), CSRFToken: s.csrfToken(c)}))
}

// conversationScheduled is GET /conversations/:id/scheduled: the list above the composer.
func (s *Server) conversationScheduled(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	return s.scheduledList(c, id, http.StatusOK)
}

// conversationSchedule is POST /conversations/:id/scheduled (body, send_at).
func (s *Server) conversationSchedule(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	v := viewer(c)
	at, err := parseLocal(c.FormValue("send_at"), v.Workspace.Location())
	if err != nil {
		return err
	}
	if _, err := s.Inbox.Schedule(c.Request().Context(), v, id, c.FormValue("body"), at); err != nil {
		return err
	}
	c.Response().Header().Set("HX-Trigger", `{"atiende:scheduled":{"value":"Mensaje programado para el `+at.Format("02/01 a las 15:04")+`"}}`)
	return s.afterAction(c, id, "reply", goneTitle, goneMsg)
}

func scheduledID(c echo.Context) (int64, error) {
	n, err := strconv.ParseInt(c.Param("sid"), 10, 64)
	if err != nil || n <= 0 {
		return 0, apperr.ErrNotFound
	}
	return n, nil
}

// conversationScheduleEdit is POST /conversations/:id/scheduled/:sid (body, send_at).
func (s *Server) conversationScheduleEdit(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	sid, err := scheduledID(c)
	if err != nil {
		return err
	}
	v := viewer(c)
	at, err := parseLocal(c.FormValue("send_at"), v.Workspace.Location())
	if err != nil {
		return err
	}
	if err := s.Inbox.UpdateScheduled(c.Request().Context(), v, id, sid, c.FormValue("body"), at); err != nil {
		return err
	}
	return s.scheduledList(c, id, http.StatusOK)
}

// conversationScheduleCancel is POST /conversations/:id/scheduled/:sid/cancel.
func (s *Server) conversationScheduleCancel(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	sid, err := scheduledID(c)
	if err != nil {
		return err
	}
	if err := s.Inbox.CancelScheduled(c.Request().Context(), viewer(c), id, sid); err != nil {
		return err
	}
	return s.scheduledList(c, id, http.StatusOK)
}

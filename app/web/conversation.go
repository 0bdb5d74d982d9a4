package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/views/pages/conversation"
	crmview "github.com/atiende/atiende/views/pages/crm"
)

// Conversación: the history, the composer and the actions on one conversation. The
// same component is the full page and the partial the board loads into its panel;
// every action answers htmx with the whole panel again (swapped over #conv), and a
// plain form post with a redirect back to the page.

// convID reads :id; anything that is not a positive number does not exist.
func convID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.ErrNotFound
	}
	return id, nil
}

func isHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// conversationProps loads everything the screen shows (a fixed number of queries).
func (s *Server) conversationProps(c echo.Context, id int64, before inbox.Cursor, mode string) (conversation.Props, error) {
	ctx := c.Request().Context()
	v := viewer(c)
	t, err := s.Inbox.Thread(ctx, v, id)
	if err != nil {
		return conversation.Props{}, err
	}
	page, err := s.Inbox.Messages(ctx, v, id, before, inbox.DefaultPage)
	if err != nil {
		return conversation.Props{}, err
	}
	opts, err := s.Inbox.Options(ctx, v)
	if err != nil {
		return conversation.Props{}, err
	}
	opts.Templates = s.offeredTemplates(c, opts.Templates, t.Conversation.ChannelID)
	if mode != "note" {
		mode = "reply"
	}
	leads, err := s.leadPanel(c, t.Conversation.ID, t.Contact.ID, nil)
	if err != nil {
		return conversation.Props{}, err
	}
	return conversation.Props{Thread: t, History: page, Options: opts, Before: before.String(), MeID: v.User.ID,
		MeRole: v.User.Role, CSRFToken: s.csrfToken(c), Now: s.Clock.Now(), Loc: v.Workspace.Location(), Mode: mode,
		Leads: crmview.Panel(leads)}, nil
}

// conversationShow is GET /conversations/:id: the full page, or the panel for htmx.
func (s *Server) conversationShow(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	before, _ := inbox.ParseCursor(c.QueryParam("before"))
	p, err := s.conversationProps(c, id, before, "")
	if err != nil && c.Request().Header.Get("X-Atiende-Live") == "1" {
		// An open page following live changes lost the chat: say who took it.
		return s.explainLost(c.Request().Context(), c, id, err, "%s tomó esta conversación hace un momento.")
	}
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, s.globals(c, p.Thread.Contact.DisplayName(), "board"), conversation.Page(p))
}

// conversationMessages is GET /conversations/:id/messages[?before=cursor]: one page of
// history as a fragment ("Cargar más", live refreshes).
func (s *Server) conversationMessages(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v := viewer(c)
	before, _ := inbox.ParseCursor(c.QueryParam("before"))
	page, err := s.Inbox.Messages(ctx, v, id, before, inbox.DefaultPage)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return renderComponent(c, http.StatusOK, conversation.HistoryItems(conversation.HistoryProps{
		ConvID: id, ContactName: page.ContactName, Page: page, Now: s.Clock.Now(), Loc: v.Workspace.Location()}))
}

// afterAction answers a successful action: the panel again for htmx, a redirect back
// to the page otherwise. When the viewer no longer sees the conversation (they
// transferred it away), the panel says so instead of failing.
func (s *Server) afterAction(c echo.Context, id int64, mode, goneTitle, goneMsg string) error {
	if !isHTMX(c) {
		if _, err := s.Inbox.Thread(c.Request().Context(), viewer(c), id); errors.Is(err, apperr.ErrNotFound) {
			s.flash(c, goneTitle+". "+goneMsg)
			return c.Redirect(http.StatusSeeOther, "/board")
		}
		return c.Redirect(http.StatusSeeOther, "/conversations/"+strconv.FormatInt(id, 10))
	}
	p, err := s.conversationProps(c, id, inbox.Cursor{}, mode)
	if errors.Is(err, apperr.ErrNotFound) {
		return renderComponent(c, http.StatusOK, conversation.Gone(conversation.GoneProps{Title: goneTitle, Message: goneMsg}))
	}
	if err != nil {
		return err
	}
	return renderComponent(c, http.StatusOK, conversation.Page(p))
}

const goneTitle = "La conversación ya no está en tu bandeja"
const goneMsg = "Ya no está asignada a ti ni a tus equipos."

// explainLost turns the "not found" of an agent who lost a race into a Conflict that
// names who took the conversation.
func (s *Server) explainLost(ctx context.Context, c echo.Context, id int64, err error, format string) error {
	if !errors.Is(err, apperr.ErrNotFound) {
		return err
	}
	name, taken, qerr := s.Inbox.TakenBy(ctx, viewer(c), id)
	if qerr != nil {
		return qerr
	}
	if taken {
		return apperr.Conflict{Msg: fmt.Sprintf(format, name)}
	}
	return err
}

// conversationSend is POST /conversations/:id/messages: mode=reply sends a WhatsApp
// message (in reply to context when given); mode=note stores an internal note.
func (s *Server) conversationSend(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v := viewer(c)
	mode := c.FormValue("mode")
	body := c.FormValue("body")
	if mode == "note" {
		if _, err = s.Inbox.AddNote(ctx, inbox.By(v), id, body); err == nil {
			if merr := s.notifyMentions(ctx, v, id, body); merr != nil { // mentions.go
				s.Logger.Warn("mentions not sent", "conversation", id, "err", merr)
			}
		}
	} else {
		mode = "reply"
		err = s.sendReply(ctx, c, v, id, body) // compose.go: long replies

	}
	if err != nil {
		return s.explainLost(ctx, c, id, err, "%s tomó esta conversación mientras escribías: tu mensaje no se envió.")
	}
	return s.afterAction(c, id, mode, goneTitle, goneMsg)
}

// conversationTemplate is POST /conversations/:id/template: an approved template with
// its {{n}} values (params, in order).
func (s *Server) conversationTemplate(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	tid, err := strconv.ParseInt(c.FormValue("template_id"), 10, 64)
	if err != nil {
		return apperr.Validation{"template": "Elige una plantilla de la lista"}
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := s.Inbox.SendTemplate(ctx, inbox.By(viewer(c)), id, tid, form["params"]); err != nil {
		return s.explainLost(ctx, c, id, err, "%s tomó esta conversación mientras preparabas la plantilla: no se envió.")
	}
	return s.afterAction(c, id, "reply", goneTitle, goneMsg)
}

// conversationTake is POST /conversations/:id/take ("Tomar"): 200 to the one agent who
// gets it, 409 naming the winner to everyone else.
func (s *Server) conversationTake(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.Inbox.Take(ctx, inbox.By(viewer(c)), id); err != nil {
		return s.explainLost(ctx, c, id, err, "%s ya tomó esta conversación.")
	}
	return s.afterAction(c, id, "", goneTitle, goneMsg)
}

// optionalID reads a form id that may be empty.
func optionalID(s, field, msg string) (*int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return nil, apperr.Validation{field: msg}
	}
	return &n, nil
}

// conversationAssign is POST /conversations/:id/assign (agent_id).
func (s *Server) conversationAssign(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	agent, err := optionalID(c.FormValue("agent_id"), "agent", "Elige a quién asignar la conversación")
	if err != nil {
		return err
	}
	if agent == nil {
		return apperr.Validation{"agent": "Elige a quién asignar la conversación"}
	}
	if err := s.Inbox.Assign(c.Request().Context(), inbox.By(viewer(c)), id, *agent); err != nil {
		return err
	}
	return s.afterAction(c, id, "", "Conversación asignada", "Ya no la ves porque quedó fuera de tus equipos.")
}

// conversationTransfer is POST /conversations/:id/transfer (team_id, agent_id, note).
func (s *Server) conversationTransfer(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	team, err := optionalID(c.FormValue("team_id"), "team", "Ese equipo no existe")
	if err != nil {
		return err
	}
	agent, err := optionalID(c.FormValue("agent_id"), "agent", "Ese agente no existe o está desactivado")
	if err != nil {
		return err
	}
	in := inbox.TransferInput{TeamID: team, AgentID: agent, Note: c.FormValue("note")}
	if err := s.Inbox.Transfer(c.Request().Context(), inbox.By(viewer(c)), id, in); err != nil {
		return err
	}
	return s.afterAction(c, id, "", "Conversación transferida", "Quien la recibe verá tu nota arriba del chat.")
}

// conversationStatus is POST /conversations/:id/status (status, reason): Cerrar and
// Reabrir.
func (s *Server) conversationStatus(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	if err := s.Inbox.SetStatus(c.Request().Context(), inbox.By(viewer(c)), id, c.FormValue("status"), c.FormValue("reason")); err != nil {
		return err
	}
	return s.afterAction(c, id, "", goneTitle, goneMsg)
}

// conversationLabels is POST /conversations/:id/labels (label_id, repeated; none clears).
func (s *Server) conversationLabels(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	var ids []int64
	for _, raw := range form["label_id"] {
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || n <= 0 {
			return apperr.Validation{"labels": "Alguna etiqueta no existe"}
		}
		ids = append(ids, n)
	}
	if err := s.Inbox.SetLabels(c.Request().Context(), inbox.By(viewer(c)), id, ids); err != nil {
		return err
	}
	return s.afterAction(c, id, "", goneTitle, goneMsg)
}

// conversationRead is POST /conversations/:id/read: the panel posts it when it opens,
// which clears the unread badge and sends WhatsApp's read receipt once.
func (s *Server) conversationRead(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	if err := s.Inbox.MarkRead(c.Request().Context(), inbox.By(viewer(c)), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// inlineTypes are served inline: browsers show them without running anything. Every
// other type (HTML, SVG, scripts…) is a download, so a file a customer sent can never
// run as a page of Atiende.
var inlineTypes = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/webp": true, "image/gif": true,
	"audio/aac": true, "audio/mp4": true, "audio/mpeg": true, "audio/amr": true, "audio/ogg": true, "audio/opus": true,
	"video/mp4": true, "video/3gpp": true,
	"application/pdf": true, "text/plain": true,
}

// media is GET /media/:id: a file a customer sent, to signed-in users who can see a
// conversation holding it. Until the fetcher has downloaded it from WhatsApp, images
// get a placeholder picture and other files a "try again" answer.
func (s *Server) media(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	md, err := s.Inbox.Media(c.Request().Context(), viewer(c), id)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("X-Content-Type-Options", "nosniff")
	mt, _, perr := mime.ParseMediaType(md.MimeType)
	if perr != nil {
		mt = "application/octet-stream"
	}
	if md.Data == nil {
		h.Set("Cache-Control", "no-store")
		if strings.HasPrefix(mt, "image/") {
			h.Set("Content-Type", "image/svg+xml")
			h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
			return c.Blob(http.StatusOK, "image/svg+xml", mediaPlaceholder(md.Error != ""))
		}
		if md.Error != "" {
			return echo.NewHTTPError(http.StatusBadGateway, "No se pudo descargar este archivo de WhatsApp. Pide al cliente que lo envíe de nuevo.")
		}
		h.Set("Retry-After", "5")
		return echo.NewHTTPError(http.StatusServiceUnavailable, "El archivo todavía se está descargando de WhatsApp. Inténtalo de nuevo en unos segundos.")
	}
	disposition := "inline"
	if !inlineTypes[mt] {
		disposition, mt = "attachment", "application/octet-stream"
	}
	if mt != "application/pdf" {
		// Nothing served here may run script, even if a browser renders it as a page.
		h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox")
	}
	h.Set("Content-Type", mt)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": mediaFilename(md, mt)}))
	h.Set("Cache-Control", "private, max-age=3600")
	var modified time.Time
	if md.FetchedAt != nil {
		modified = *md.FetchedAt
	}
	// ServeContent answers Range requests: audio and video players seek with them.
	http.ServeContent(c.Response(), c.Request(), "", modified, bytes.NewReader(md.Data))
	return nil
}

// mediaFilename is a name safe for a Content-Disposition header: the customer's file
// name without paths or control characters, or one made from the id and type.
func mediaFilename(md models.Media, mt string) string {
	name := path.Base(strings.ReplaceAll(md.Filename, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || strings.ContainsRune(`"/\<>:|?*`, r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.Trim(name, "."))
	if len([]rune(name)) > 120 {
		name = string([]rune(name)[:120])
	}
	if name == "" || name == "." {
		ext := ""
		if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
			ext = exts[0]
		}
		name = fmt.Sprintf("archivo-%d%s", md.ID, ext)
	}
	return name
}

// mediaPlaceholder is the picture shown while an image is still being downloaded.
func mediaPlaceholder(failed bool) []byte {
	text := "Descargando imagen…"
	if failed {
		text = "Imagen no disponible"
	}
	return []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200" viewBox="0 0 320 200">` +
		`<rect width="320" height="200" rx="8" fill="#eef1f4"/>` +
		`<g fill="none" stroke="#9aa4b1" stroke-width="4" stroke-linecap="round" stroke-linejoin="round" transform="translate(136 60)">` +
		`<rect x="2" y="2" width="44" height="36" rx="5"/><circle cx="15" cy="14" r="4"/><path d="m46 30-11-11-23 21"/></g>` +
		`<text x="160" y="134" font-family="system-ui, sans-serif" font-size="15" fill="#5b6572" text-anchor="middle">` + text + `</text></svg>`)
}

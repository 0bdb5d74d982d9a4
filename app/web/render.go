package web

import (
	"bytes"
	"github.com/atiende/atiende/views/components"
	"net/http"
	"strings"
	"sync"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/static"
	"github.com/atiende/atiende/views/layout"
)

// globals builds the layout props for the current request (one place for all screens).
func (s *Server) globals(c echo.Context, title, nav string) layout.Globals {
	v := viewer(c)
	g := layout.Globals{
		Title:         title,
		Nav:           nav,
		UserID:        v.User.ID,
		UserName:      v.User.Name,
		UserEmail:     v.User.Email,
		UserInitials:  Initials(v.User.Name),
		Role:          v.User.Role,
		Presence:      v.User.Presence,
		WorkspaceName: v.Workspace.Name,
		CSRFToken:     s.csrfToken(c),
		DemoMode:      s.Config.FakeGraph(),
		AssetVersion:  static.Version,
		Search:        c.QueryParam("q"),
		AvatarColor:   accounts.AvatarCSS(v.User.AvatarColor),
		Notify:        notifyPrefs(v.User),
	}
	if msg := s.Sessions.PopString(c.Request().Context(), sessionFlash); msg != "" {
		g.Flash, g.FlashKind = msg, "ok"
	}
	return g
}

// isPartial reports an htmx request that wants the screen without the frame.
func isPartial(c echo.Context) bool {
	h := c.Request().Header
	// A history restore rebuilds the whole page from the server: it needs the frame.
	return h.Get("HX-Request") == "true" && h.Get("HX-Boosted") != "true" && h.Get("HX-History-Restore-Request") != "true"
}

// render writes a screen: inside the frame for a full page, alone for htmx. Both are
// the same component, so a page and its partial never diverge.
func (s *Server) render(c echo.Context, status int, g layout.Globals, body templ.Component) error {
	if isPartial(c) {
		return renderComponent(c, status, body)
	}
	return renderComponent(c, status, layout.Page(g, body))
}

// renderBare writes a page without the application chrome.
func (s *Server) renderBare(c echo.Context, status int, g layout.Globals, body templ.Component) error {
	return renderComponent(c, status, layout.Bare(g, body))
}

// renderComponent renders into a buffer and writes once: templ flushes as it goes,
// and each flush through gzip is a costly sync flush that also compresses worse.
// A render error becomes a proper error page instead of half a page.
func renderComponent(c echo.Context, status int, comp templ.Component) error {
	buf := renderPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer renderPool.Put(buf)
	if err := comp.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(buf.Bytes())
	return err
}

var renderPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Initials are up to two capital letters of a name, for avatars.
func Initials(name string) string { return components.Initials(name) }

func seeOther(c echo.Context, to string) error {
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// notifyPrefs lists the browser notifications u wants, for the page's scripts.
func notifyPrefs(u models.User) string {
	var out []string
	if u.NotifyAssigned {
		out = append(out, "assigned")
	}
	if u.NotifyMentions {
		out = append(out, "mentions")
	}
	if u.NotifyTasks {
		out = append(out, "tasks")
	}
	return strings.Join(out, " ")
}

package web

import (
	"context"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/views/pages/conversation"
)

// sendReply sends what the agent wrote. Over WhatsApp's 4,096 characters it is
// refused (422, nothing sent) unless the agent chose to split it (split=1): then it
// goes as several messages, in order, cut only at whitespace, so the customer reads
// exactly what was written.
func (s *Server) sendReply(ctx context.Context, c echo.Context, v accounts.Viewer, id int64, body string) error {
	body = strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
	quoted := strings.TrimSpace(c.FormValue("context"))
	if c.FormValue("split") != "1" || utf8.RuneCountInString(body) <= inbox.MaxBody {
		_, err := s.Inbox.Reply(ctx, inbox.By(v), id, body, quoted)
		return err
	}
	for i, part := range inbox.SplitBody(body, inbox.MaxBody) {
		if i > 0 {
			quoted = ""
		}
		if _, err := s.Inbox.Reply(ctx, inbox.By(v), id, part, quoted); err != nil {
			return err
		}
	}
	return nil
}

// composePreview is POST /compose/preview (body): the text as the customer will see
// it, with WhatsApp's formatting (the composer's "Vista previa").
func (s *Server) composePreview(c echo.Context) error {
	body := c.FormValue("body")
	if utf8.RuneCountInString(body) > 4*inbox.MaxBody {
		body = string([]rune(body)[:4*inbox.MaxBody])
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return renderComponent(c, http.StatusOK, conversation.Formatted(body))
}

package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/static"
	"github.com/atiende/atiende/views/layout"
	errpages "github.com/atiende/atiende/views/pages/errors"
)

// APIError is the JSON API's error body: {"error":{"code":"…","message":"…"}}.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *APIError) Error() string { return e.Message }

func apiError(status int, code, msg string) error {
	return &APIError{Status: status, Code: code, Message: msg}
}

// handleError is the one place errors become responses: JSON under /api, a toast
// text for htmx, a friendly page otherwise. 5xx are logged; details never leak.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
		return // the client went away (a reload mid-request): nobody to answer, nothing to log
	}
	status, code, msg := s.classify(err)
	if status >= 500 {
		s.Logger.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	var out error
	switch {
	case strings.HasPrefix(c.Request().URL.Path, "/api/"):
		out = c.JSON(status, map[string]any{"error": APIError{Code: code, Message: msg}})
	case c.Request().Header.Get("HX-Request") == "true":
		out = c.String(status, msg)
	case c.Request().Method == http.MethodHead:
		out = c.NoContent(status)
	default:
		out = s.errorPage(c, status, msg)
	}
	if out != nil {
		s.Logger.Error("writing error response failed", "err", out)
	}
}

// classify is the one mapping of errors to a status, a code and a message, for pages,
// htmx toasts and the JSON API alike.
func (s *Server) classify(err error) (int, string, string) {
	var api *APIError
	var he *echo.HTTPError
	var v apperr.Validation
	var conflict apperr.Conflict
	var nf apperr.NotFound
	switch {
	case errors.As(err, &api):
		return api.Status, api.Code, api.Message
	case errors.As(err, &nf):
		return http.StatusNotFound, "not_found", nf.Msg
	case errors.As(err, &v):
		return http.StatusUnprocessableEntity, "invalid", v.Error()
	case errors.As(err, &conflict):
		return http.StatusConflict, "conflict", conflict.Msg
	case errors.Is(err, apperr.ErrNotFound):
		return http.StatusNotFound, "not_found", "No encontramos lo que buscas, o no tienes acceso."
	case errors.Is(err, apperr.ErrForbidden):
		return http.StatusForbidden, "forbidden", "No tienes permiso para hacer esto."
	case errors.Is(err, apperr.ErrConflict):
		return http.StatusConflict, "conflict", "Alguien más cambió esto al mismo tiempo. Vuelve a cargar e inténtalo de nuevo."
	case errors.As(err, &he):
		msg := friendly(he.Code)
		if m, ok := he.Message.(string); ok && he.Code != http.StatusNotFound && he.Code != http.StatusMethodNotAllowed && !strings.EqualFold(m, http.StatusText(he.Code)) {
			msg = m
		}
		return he.Code, codeName(he.Code), msg
	}
	return http.StatusInternalServerError, "internal", friendly(http.StatusInternalServerError)
}

func friendly(status int) string {
	switch status {
	case http.StatusNotFound:
		return "No encontramos lo que buscas, o no tienes acceso."
	case http.StatusForbidden:
		return "No tienes permiso para ver esta página."
	case http.StatusMethodNotAllowed:
		return "Esa acción no está disponible aquí."
	case http.StatusRequestEntityTooLarge:
		return "Lo que enviaste es demasiado grande."
	case http.StatusTooManyRequests:
		return "Demasiadas solicitudes seguidas. Espera un momento e inténtalo de nuevo."
	case http.StatusBadRequest:
		return "La solicitud no es válida."
	}
	return "Algo salió mal de nuestro lado. Ya quedó registrado; inténtalo de nuevo en un momento."
}

func codeName(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusConflict:
		return "conflict"
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}

func (s *Server) errorPage(c echo.Context, status int, msg string) error {
	titles := map[int]string{
		http.StatusNotFound:            "Página no encontrada",
		http.StatusForbidden:           "Acceso restringido",
		http.StatusInternalServerError: "Algo salió mal",
	}
	title, ok := titles[status]
	if !ok {
		title = "No se pudo completar la acción"
	}
	body := errpages.Page(errpages.Props{Status: status, Title: title, Message: msg, Back: "/board"})
	if _, signedIn := c.Get(ctxViewer).(interface{}); signedIn && viewer(c).User.ID != 0 {
		return s.render(c, status, s.globals(c, title, ""), body)
	}
	return renderComponent(c, status, layout.Bare(layout.Globals{Title: title, AssetVersion: static.Version}, body))
}

// notFound answers a path that does not exist. For a signed-in person it loads the
// viewer first, so the error page keeps the app frame (as 403 does).
func (s *Server) notFound(c echo.Context) error {
	ctx := c.Request().Context()
	if id := s.Sessions.GetInt64(ctx, sessionUserID); id != 0 && !strings.HasPrefix(c.Request().URL.Path, "/api/") {
		if v, err := s.loadViewer(ctx, id, s.Sessions.GetInt64(ctx, sessionWorkspaceID)); err == nil {
			c.Set(ctxViewer, v)
		}
	}
	return echo.ErrNotFound
}

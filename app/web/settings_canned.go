package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/catalog"
	"github.com/atiende/atiende/views/pages/settings"
)

// Canned responses (Configuración → Respuestas rápidas): texts agents insert with "/".

func (s *Server) cannedPage(c echo.Context, status int, f settings.CannedForm) error {
	list, err := s.catalog().Canned(c.Request().Context(), viewer(c).Workspace.ID)
	if err != nil {
		return err
	}
	rows := make([]settings.CannedRow, len(list))
	for i, r := range list {
		rows[i] = settings.CannedRow{ID: r.ID, Shortcut: r.Shortcut, Title: r.Title, Body: r.Body}
	}
	f.CSRFToken = s.csrfToken(c)
	return s.render(c, status, s.globals(c, "Respuestas rápidas", "settings"), settings.Shell("canned", settings.Canned(rows, f)))
}

func (s *Server) cannedList(c echo.Context) error {
	return s.cannedPage(c, http.StatusOK, settings.CannedForm{})
}

func (s *Server) cannedCreate(c echo.Context) error {
	in := catalog.CannedInput{Shortcut: c.FormValue("shortcut"), Title: c.FormValue("title"), Body: c.FormValue("body")}
	r, err := s.catalog().CreateCanned(c.Request().Context(), viewer(c).Workspace.ID, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Respuesta rápida creada: /"+r.Shortcut)
		return seeOther(c, "/settings/canned")
	case errors.As(err, &verr):
		return s.cannedPage(c, http.StatusUnprocessableEntity, settings.CannedForm{Shortcut: in.Shortcut, Title: in.Title, Body: in.Body, Errors: verr})
	}
	return err
}

func (s *Server) cannedDelete(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	r, err := s.catalog().DeleteCanned(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	s.flash(c, "Respuesta rápida eliminada: /"+r.Shortcut)
	return seeOther(c, "/settings/canned")
}

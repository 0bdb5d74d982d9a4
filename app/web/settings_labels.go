package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/catalog"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/views/pages/settings"
)

// Labels (Configuración → Etiquetas): coloured tags for conversations.

func (s *Server) labelsPage(c echo.Context, status int, f settings.LabelForm) error {
	list, err := s.catalog().LabelRows(c.Request().Context(), viewer(c).Workspace.ID)
	if err != nil {
		return err
	}
	rows := make([]settings.LabelRow, len(list))
	for i, l := range list {
		rows[i] = settings.LabelRow{ID: l.ID, Name: l.Name, Color: l.Color, Conversations: l.Conversations}
	}
	if f.Color == "" {
		labels := make([]models.Label, len(list))
		for i, l := range list {
			labels[i] = l.Label
		}
		f.Color = catalog.NextColor(labels)
	}
	f.CSRFToken = s.csrfToken(c)
	return s.render(c, status, s.globals(c, "Etiquetas", "settings"), settings.Shell("labels", settings.Labels(rows, f)))
}

func (s *Server) labelsList(c echo.Context) error {
	return s.labelsPage(c, http.StatusOK, settings.LabelForm{})
}

func (s *Server) labelCreate(c echo.Context) error {
	in := catalog.LabelInput{Name: c.FormValue("name"), Color: c.FormValue("color")}
	l, err := s.catalog().CreateLabel(c.Request().Context(), viewer(c).Workspace.ID, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Etiqueta creada: "+l.Name)
		return seeOther(c, "/settings/labels")
	case errors.As(err, &verr):
		return s.labelsPage(c, http.StatusUnprocessableEntity, settings.LabelForm{Name: in.Name, Color: in.Color, Errors: verr})
	}
	return err
}

func (s *Server) labelDelete(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	l, err := s.catalog().DeleteLabel(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	s.flash(c, "Etiqueta eliminada: "+l.Name)
	return seeOther(c, "/settings/labels")
}

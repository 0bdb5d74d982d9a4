package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/catalog"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/views/pages/settings"
)

// Templates (Configuración → Plantillas): register WhatsApp templates approved in Meta.

// catalog is the templates, canned responses and labels service.
func (s *Server) catalog() *catalog.Service { return s.Services.Catalog }

func (s *Server) templatesPage(c echo.Context, status int, f settings.TemplateForm) error {
	list, err := s.catalog().Templates(c.Request().Context(), viewer(c).Workspace.ID)
	if err != nil {
		return err
	}
	var chs []models.Channel
	if err := s.DB.Gorm.WithContext(c.Request().Context()).Where("workspace_id = ? AND active AND waba_id <> ''", viewer(c).Workspace.ID).
		Order("id").Find(&chs).Error; err != nil {
		return err
	}
	byWaba := map[string]string{}
	for _, ch := range chs {
		if byWaba[ch.WabaID] == "" {
			byWaba[ch.WabaID] = ch.Name
		} else {
			byWaba[ch.WabaID] += ", " + ch.Name
		}
	}
	rows := make([]settings.TemplateRow, len(list))
	for i, t := range list {
		spec := whatsapp.ParseTemplate(t.Components, t.Body)
		n := len(spec.BodyParams)
		if t.WabaID == "" {
			n, _ = catalog.Params(t.Body) // stored bodies were validated; 0 if an import was not
		}
		rows[i] = settings.TemplateRow{ID: t.ID, Name: t.Name, Language: t.Language, Category: t.Category, Body: spec.Body, Params: n,
			WabaID: t.WabaID, Status: t.Status, Spec: spec, Channel: byWaba[t.WabaID]}
	}
	f.CSRFToken = s.csrfToken(c)
	f.CanSync = len(chs) > 0
	return s.render(c, status, s.globals(c, "Plantillas", "settings"), settings.Shell("templates", settings.Templates(rows, f)))
}

func (s *Server) templatesList(c echo.Context) error {
	return s.templatesPage(c, http.StatusOK, settings.TemplateForm{Language: "es", Category: catalog.CategoryUtility})
}

func (s *Server) templateCreate(c echo.Context) error {
	in := catalog.TemplateInput{Name: c.FormValue("name"), Language: c.FormValue("language"),
		Category: c.FormValue("category"), Body: c.FormValue("body")}
	t, err := s.catalog().CreateTemplate(c.Request().Context(), viewer(c).Workspace.ID, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Plantilla registrada: "+t.Name+" ("+t.Language+")")
		return seeOther(c, "/settings/templates")
	case errors.As(err, &verr):
		return s.templatesPage(c, http.StatusUnprocessableEntity, settings.TemplateForm{Name: in.Name, Language: in.Language,
			Category: in.Category, Body: in.Body, Errors: verr})
	}
	return err
}

func (s *Server) templateDelete(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	t, err := s.catalog().DeleteTemplate(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	s.flash(c, "Plantilla eliminada: "+t.Name+" ("+t.Language+")")
	return seeOther(c, "/settings/templates")
}

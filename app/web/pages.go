package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/views/pages/placeholder"
)

func (s *Server) placeholder(title, nav, text string) echo.HandlerFunc {
	return func(c echo.Context) error {
		return s.render(c, http.StatusOK, s.globals(c, title, nav), placeholder.Page(title, text))
	}
}

func (s *Server) apiMe(c echo.Context) error {
	v := viewer(c)
	return c.JSON(http.StatusOK, map[string]any{"id": v.User.ID, "email": v.User.Email, "name": v.User.Name, "role": v.User.Role, "workspace": v.Workspace.Name})
}

package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/views/pages/profile"
)

// Mi perfil (/profile): every user's own name, colour, password and notifications.

func (s *Server) profileProps(c echo.Context) profile.Props {
	v := viewer(c)
	u := v.User
	return profile.Props{Name: u.Name, Email: u.Email, Role: u.Role, Workspace: v.Workspace.Name, AvatarColor: u.AvatarColor,
		NotifyAssigned: u.NotifyAssigned, NotifyMentions: u.NotifyMentions, NotifyTasks: u.NotifyTasks, CSRFToken: s.csrfToken(c)}
}

func (s *Server) profilePage(c echo.Context, status int, p profile.Props) error {
	return s.render(c, status, s.globals(c, "Mi perfil", "profile"), profile.Page(p))
}

func (s *Server) profileShow(c echo.Context) error {
	p := s.profileProps(c)
	p.Saved = c.QueryParam("saved")
	return s.profilePage(c, http.StatusOK, p)
}

func (s *Server) profileUpdate(c echo.Context) error {
	in := accounts.ProfileInput{Name: c.FormValue("name"), AvatarColor: c.FormValue("avatar_color"),
		NotifyAssigned: c.FormValue("notify_assigned") == "1", NotifyMentions: c.FormValue("notify_mentions") == "1",
		NotifyTasks: c.FormValue("notify_tasks") == "1"}
	err := s.Accounts.UpdateProfile(c.Request().Context(), viewer(c), in)
	var verr apperr.Validation
	if errors.As(err, &verr) {
		p := s.profileProps(c)
		p.Name, p.AvatarColor, p.Errors = in.Name, in.AvatarColor, verr
		p.NotifyAssigned, p.NotifyMentions, p.NotifyTasks = in.NotifyAssigned, in.NotifyMentions, in.NotifyTasks
		return s.profilePage(c, http.StatusUnprocessableEntity, p)
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/profile?saved=profile")
}

func (s *Server) profilePassword(c echo.Context) error {
	err := s.Accounts.ChangePassword(c.Request().Context(), viewer(c), c.FormValue("current_password"),
		c.FormValue("new_password"), c.FormValue("confirm_password"), c.RealIP())
	var verr apperr.Validation
	if errors.As(err, &verr) {
		p := s.profileProps(c)
		p.PasswordErrors = verr
		return s.profilePage(c, http.StatusUnprocessableEntity, p)
	}
	if err != nil {
		return err
	}
	// Other sessions keep working; this one gets a fresh token (a password change is
	// a privilege change).
	if err := s.Sessions.RenewToken(c.Request().Context()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/profile?saved=password")
}

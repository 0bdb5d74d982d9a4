package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/app/inbox"
	crmview "github.com/atiende/atiende/views/pages/crm"
)

// Tareas: "Mis tareas" grouped as overdue, today and upcoming; adding a task on a lead
// or a contact; done in one click.

// tasksPage is GET /tasks.
func (s *Server) tasksPage(c echo.Context) error {
	v := viewer(c)
	mine, err := s.Services.CRM.Mine(c.Request().Context(), v)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, s.globals(c, "Tareas", "tasks"), crmview.TasksPage(crmview.TasksProps{Mine: mine,
		CSRF: s.csrfToken(c), Now: s.Clock.Now(), Loc: v.Workspace.Location()}))
}

// parseLocal reads a datetime-local value ("2026-12-01T15:30") in the workspace's zone.
func parseLocalTime(raw string, loc *time.Location) (time.Time, bool) {
	raw = strings.TrimSpace(raw)
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, raw, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// taskCreate is POST /tasks (from a lead's page or a contact's).
func (s *Server) taskCreate(c echo.Context) error {
	v := viewer(c)
	in := crm.TaskInput{Kind: c.FormValue("kind"), Title: c.FormValue("title")}
	due, ok := parseLocalTime(c.FormValue("due_at"), v.Workspace.Location())
	if !ok {
		return apperr.Validation{"due_at": "Indica la fecha y la hora de la tarea"}
	}
	in.DueAt = due
	if id, err := strconv.ParseInt(c.FormValue("lead_id"), 10, 64); err == nil && id > 0 {
		in.LeadID = &id
	}
	if id, err := strconv.ParseInt(c.FormValue("contact_id"), 10, 64); err == nil && id > 0 {
		in.ContactID = &id
	}
	if id, err := strconv.ParseInt(c.FormValue("assignee_id"), 10, 64); err == nil && id > 0 {
		in.AssigneeID = &id
	}
	if _, err := s.Services.CRM.CreateTask(c.Request().Context(), inbox.By(v), in); err != nil {
		return err
	}
	s.flash(c, "Tarea agregada.")
	back := c.FormValue("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") {
		back = "/tasks"
	}
	return seeOther(c, back)
}

// taskDone is POST /tasks/:id/done (done=1, or 0 to reopen).
func (s *Server) taskDone(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	v := viewer(c)
	ctx := c.Request().Context()
	done := c.FormValue("done") != "0"
	if _, err := s.Services.CRM.SetTaskDone(ctx, inbox.By(v), id, done); err != nil {
		return err
	}
	if !isHTMX(c) {
		return seeOther(c, "/tasks")
	}
	t, err := s.Services.CRM.Task(ctx, v, id)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	return renderComponent(c, http.StatusOK, crmview.TaskRow(t, s.csrfToken(c), now, v.Workspace.Location(), t.DoneAt == nil && t.DueAt.Before(now)))
}

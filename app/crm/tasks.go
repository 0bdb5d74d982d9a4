package crm

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/models"
)

// TaskKinds are the kinds of next steps, with their Spanish names, in menu order.
var TaskKinds = []struct{ Key, Label string }{
	{models.TaskCall, "Llamada"}, {models.TaskDemo, "Demo"}, {models.TaskVisit, "Visita"}, {models.TaskFollowUp, "Seguimiento"},
}

// TaskKindLabel is a kind's Spanish name.
func TaskKindLabel(k string) string {
	for _, t := range TaskKinds {
		if t.Key == k {
			return t.Label
		}
	}
	return k
}

// taskKind accepts a kind by key or Spanish name ("llamada", "follow_up").
func taskKind(k string) string {
	k = strings.ToLower(strings.TrimSpace(k))
	for _, t := range TaskKinds {
		if k == t.Key || k == strings.ToLower(t.Label) {
			return t.Key
		}
	}
	return ""
}

// TaskInput creates a task.
type TaskInput struct {
	Kind       string
	Title      string
	DueAt      time.Time
	AssigneeID *int64 // nil: the person creating it
	LeadID     *int64
	ContactID  *int64
}

// ErrNoTask: the task does not exist or the viewer may not see it.
var ErrNoTask = apperr.NotFound{Msg: "No existe esa tarea o no tienes acceso."}

// CreateTask adds a next step on a lead or a contact the actor can see.
func (s *Service) CreateTask(ctx context.Context, a inbox.Actor, in TaskInput) (models.Task, error) {
	v := a.Viewer()
	errs := apperr.Validation{}
	kind := taskKind(in.Kind)
	if kind == "" {
		errs.Add("kind", "Elige el tipo de tarea: llamada, demo, visita o seguimiento")
	}
	title := clean(in.Title)
	if len([]rune(title)) > 200 {
		errs.Add("title", "La descripción puede tener hasta 200 caracteres")
	}
	if in.DueAt.IsZero() {
		errs.Add("due_at", "Indica la fecha y la hora de la tarea")
	}
	if in.LeadID == nil && in.ContactID == nil {
		errs.Add("lead_id", "La tarea debe ser de una oportunidad o de un contacto")
	}
	if len(errs) > 0 {
		return models.Task{}, errs
	}
	t := models.Task{WorkspaceID: v.Workspace.ID, Kind: kind, Title: title, DueAt: in.DueAt, CreatedBy: a.UserID(), CreatedAt: s.Clock.Now()}
	err := s.ctxDB(ctx).Transaction(func(tx *gorm.DB) error {
		if in.LeadID != nil {
			cond, args := VisibleLeads(v, "l")
			var l models.Lead
			if err := tx.Raw(`SELECT l.id, l.contact_id FROM leads l WHERE l.id = ? AND `+cond, append([]any{*in.LeadID}, args...)...).Find(&l).Error; err != nil {
				return err
			}
			if l.ID == 0 {
				return ErrNoLead
			}
			t.LeadID, t.ContactID = &l.ID, &l.ContactID
		} else {
			cond, args := visibleContact(v, "k")
			var id int64
			if err := tx.Raw(`SELECT k.id FROM contacts k WHERE k.id = ? AND `+cond, append([]any{*in.ContactID}, args...)...).Find(&id).Error; err != nil {
				return err
			}
			if id == 0 {
				return apperr.NotFound{Msg: "No existe ese contacto o no tienes acceso."}
			}
			t.ContactID = &id
		}
		switch {
		case in.AssigneeID != nil:
			if err := checkUser(tx, v.Workspace.ID, *in.AssigneeID, "assignee_id"); err != nil {
				return err
			}
			t.AssigneeID = *in.AssigneeID
		case a.UserID() != nil:
			t.AssigneeID = *a.UserID()
		default:
			return apperr.Validation{"assignee_id": "Indica a quién se asigna la tarea"}
		}
		return tx.Create(&t).Error
	})
	return t, err
}

// visibleTasks: people see the tasks assigned to them or created by them; supervisors
// also their teams' members' tasks; admins all.
func visibleTasks(v accounts.Viewer, alias string) (string, []any) {
	p := alias + "."
	if v.User.Role == models.RoleAdmin {
		return p + "workspace_id = ?", []any{v.Workspace.ID}
	}
	if v.User.Role == models.RoleSupervisor && len(v.TeamIDs) > 0 {
		return fmt.Sprintf("%[1]sworkspace_id = ? AND (%[1]sassignee_id = ? OR %[1]screated_by = ? OR %[1]sassignee_id IN (SELECT tm.user_id FROM team_members tm WHERE tm.team_id IN ?))", p),
			[]any{v.Workspace.ID, v.User.ID, v.User.ID, v.TeamIDs}
	}
	return fmt.Sprintf("%[1]sworkspace_id = ? AND (%[1]sassignee_id = ? OR %[1]screated_by = ?)", p), []any{v.Workspace.ID, v.User.ID, v.User.ID}
}

// SetTaskDone marks a task done (or not done again).
func (s *Service) SetTaskDone(ctx context.Context, a inbox.Actor, id int64, done bool) (models.Task, error) {
	v := a.Viewer()
	cond, args := visibleTasks(v, "t")
	var t models.Task
	err := s.ctxDB(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT t.* FROM tasks t WHERE t.id = ? AND `+cond+` FOR UPDATE OF t`, append([]any{id}, args...)...).Find(&t).Error; err != nil {
			return err
		}
		if t.ID == 0 {
			return ErrNoTask
		}
		if done && t.DoneAt == nil {
			now := s.Clock.Now()
			t.DoneAt, t.DoneBy = &now, a.UserID()
		} else if !done {
			t.DoneAt, t.DoneBy = nil, nil
		}
		return tx.Model(&t).Select("done_at", "done_by").Updates(&t).Error
	})
	return t, err
}

// TaskView is a task with what lists show of it.
type TaskView struct {
	models.Task
	AssigneeName string
	LeadTitle    string
	ContactName  string
	ContactWaID  string `gorm:"column:contact_wa_id"`
	ConvID       *int64
}

const taskSelect = `SELECT t.*, COALESCE(u.name, '') AS assignee_name, COALESCE(l.title, '') AS lead_title,
	COALESCE(NULLIF(k.name, ''), NULLIF(k.profile_name, ''), k.phone, '') AS contact_name, COALESCE(k.wa_id, '') AS contact_wa_id,
	(SELECT c.id FROM conversations c WHERE c.contact_id = t.contact_id ORDER BY c.last_message_at DESC NULLS LAST LIMIT 1) AS conv_id
FROM tasks t LEFT JOIN users u ON u.id = t.assignee_id LEFT JOIN leads l ON l.id = t.lead_id LEFT JOIN contacts k ON k.id = t.contact_id`

// TaskFilter narrows the task list.
type TaskFilter struct {
	AssigneeID int64 // 0: any visible
	LeadID     int64
	ContactID  int64
	// Open: only tasks not done.
	Open bool
}

// Tasks lists visible tasks, soonest due first (at most 500).
func (s *Service) Tasks(ctx context.Context, v accounts.Viewer, f TaskFilter) ([]TaskView, error) {
	cond, args := visibleTasks(v, "t")
	if f.AssigneeID != 0 {
		cond += " AND t.assignee_id = ?"
		args = append(args, f.AssigneeID)
	}
	if f.LeadID != 0 {
		cond += " AND t.lead_id = ?"
		args = append(args, f.LeadID)
	}
	if f.ContactID != 0 {
		cond += " AND t.contact_id = ?"
		args = append(args, f.ContactID)
	}
	if f.Open {
		cond += " AND t.done_at IS NULL"
	}
	var rows []TaskView
	err := s.ctxDB(ctx).Raw(taskSelect+" WHERE "+cond+" ORDER BY t.done_at IS NOT NULL, t.due_at, t.id LIMIT 500", args...).Scan(&rows).Error
	return rows, err
}

// MyTasks are the viewer's open tasks grouped as overdue, today and upcoming (in the
// workspace's time zone), plus the ones done today.
type MyTasks struct {
	Overdue, Today, Upcoming, DoneToday []TaskView
}

// Mine groups the viewer's open tasks at now.
func (s *Service) Mine(ctx context.Context, v accounts.Viewer) (MyTasks, error) {
	var m MyTasks
	now := s.Clock.Now()
	loc := v.Workspace.Location()
	y, mo, d := now.In(loc).Date()
	dayStart := time.Date(y, mo, d, 0, 0, 0, 0, loc)
	dayEnd := dayStart.AddDate(0, 0, 1)
	var rows []TaskView
	err := s.ctxDB(ctx).Raw(taskSelect+` WHERE t.workspace_id = ? AND t.assignee_id = ? AND (t.done_at IS NULL OR t.done_at >= ?)
		ORDER BY t.due_at, t.id LIMIT 500`, v.Workspace.ID, v.User.ID, dayStart).Scan(&rows).Error
	for _, t := range rows {
		switch {
		case t.DoneAt != nil:
			m.DoneToday = append(m.DoneToday, t)
		case t.DueAt.Before(now):
			m.Overdue = append(m.Overdue, t)
		case t.DueAt.Before(dayEnd):
			m.Today = append(m.Today, t)
		default:
			m.Upcoming = append(m.Upcoming, t)
		}
	}
	return m, err
}

// TaskDue is what the browser hears when one of the user's tasks comes due.
type TaskDue struct {
	ID      int64  `json:"id"`
	Kind    string `json:"kind"`
	Title   string `json:"title"`
	Contact string `json:"contact"`
}

// NotifyDue tells each assignee, live, about their tasks that came due by now: once
// per task (notified_at is set in the same statement that picks them).
func NotifyDue(ctx context.Context, db *gorm.DB, now time.Time) (int, error) {
	var rows []struct {
		ID, WorkspaceID, AssigneeID int64
		Kind, Title, Contact        string
	}
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw(`WITH due AS (
				UPDATE tasks SET notified_at = ? WHERE id IN (
					SELECT id FROM tasks WHERE done_at IS NULL AND notified_at IS NULL AND due_at <= ?
					ORDER BY due_at LIMIT 500 FOR UPDATE SKIP LOCKED)
				RETURNING id, workspace_id, assignee_id, kind, title, contact_id)
			SELECT due.id, due.workspace_id, due.assignee_id, due.kind, due.title,
				COALESCE(NULLIF(k.name, ''), NULLIF(k.profile_name, ''), k.phone, '') AS contact
			FROM due LEFT JOIN contacts k ON k.id = due.contact_id`, now, now).Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			b, err := json.Marshal(TaskDue{ID: r.ID, Kind: TaskKindLabel(r.Kind), Title: r.Title, Contact: r.Contact})
			if err != nil {
				return err
			}
			if err := live.Publish(tx, live.Event{Kind: "task_due", WorkspaceID: r.WorkspaceID, UserID: r.AssigneeID, Text: string(b), At: now}); err != nil {
				return err
			}
		}
		return nil
	})
	return len(rows), err
}

// Task returns one task v may see.
func (s *Service) Task(ctx context.Context, v accounts.Viewer, id int64) (TaskView, error) {
	cond, args := visibleTasks(v, "t")
	var t TaskView
	if err := s.ctxDB(ctx).Raw(taskSelect+" WHERE t.id = ? AND "+cond, append([]any{id}, args...)...).Find(&t).Error; err != nil {
		return t, err
	}
	if t.ID == 0 {
		return t, ErrNoTask
	}
	return t, nil
}

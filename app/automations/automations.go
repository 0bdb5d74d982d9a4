// Package automations is the admin's "when … then …" rules: when a lead enters a stage,
// a conversation is closed or a label is added, assign the conversation, add a label,
// create a task, send an approved WhatsApp template or move the lead.
//
// Rules run through hooks of the inbox and the CRM (Inbox.OnClosed, Inbox.OnLabelsAdded,
// CRM.OnLeadStage), inside the transaction of the change that triggered them, in
// position order, once per event. They act as inbox.ActorAutomation, and a change made
// by that actor never triggers automations: loops are impossible.
package automations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/models"
)

// Service keeps the automations and runs them.
type Service struct {
	DB    *gorm.DB
	Clock clock.Clock
	Inbox *inbox.Service
	CRM   *crm.Service
}

// New returns a Service.
func New(db *gorm.DB, c clock.Clock, ib *inbox.Service, cr *crm.Service) *Service {
	return &Service{DB: db, Clock: c, Inbox: ib, CRM: cr}
}

// Hook wires the service into the inbox and the CRM.
func (s *Service) Hook() {
	s.Inbox.OnClosed = s.ConversationClosed
	s.Inbox.OnLabelsAdded = s.LabelsAdded
	s.CRM.OnLeadStage = s.LeadStage
}

// Trigger are a rule's trigger parameters.
type Trigger struct {
	StageID int64 `json:"stage_id,omitempty"` // lead_stage: the stage entered
	LabelID int64 `json:"label_id,omitempty"` // label_added: the label
}

// Action are a rule's action parameters.
type Action struct {
	TeamID     int64             `json:"team_id,omitempty"`     // assign
	UserID     int64             `json:"user_id,omitempty"`     // assign; create_task (nil: the lead's owner, else the conversation's agent)
	LabelID    int64             `json:"label_id,omitempty"`    // add_label
	TaskKind   string            `json:"task_kind,omitempty"`   // create_task
	TaskTitle  string            `json:"task_title,omitempty"`  // create_task
	DueMinutes int               `json:"due_minutes,omitempty"` // create_task: due this long after the trigger
	TemplateID int64             `json:"template_id,omitempty"` // send_template
	Params     map[string]string `json:"params,omitempty"`      // send_template: the value of each variable, with {{nombre}}…
	StageID    int64             `json:"stage_id,omitempty"`    // move_lead
}

// Rule is an automation with its parameters read.
type Rule struct {
	models.Automation
	Trigger Trigger
	Action  Action
}

func read(a models.Automation) Rule {
	r := Rule{Automation: a}
	_ = json.Unmarshal(a.TriggerParams, &r.Trigger)
	_ = json.Unmarshal(a.ActionParams, &r.Action)
	return r
}

// Input is what creating or editing an automation takes.
type Input struct {
	Name        string
	TriggerKind string
	Trigger     Trigger
	ActionKind  string
	Action      Action
}

// Placeholders are the values a template parameter may name; Fill replaces them.
var Placeholders = []struct{ Key, Label string }{
	{"{{nombre}}", "nombre del contacto"},
	{"{{empresa}}", "empresa del contacto"},
	{"{{telefono}}", "número del contacto"},
	{"{{agente}}", "agente asignado"},
	{"{{lead.titulo}}", "título de la oportunidad"},
	{"{{lead.valor}}", "valor de la oportunidad"},
	{"{{lead.etapa}}", "etapa de la oportunidad"},
}

// TaskKinds are the kinds of task a rule may create.
var TaskKinds = []struct{ Key, Label string }{
	{"call", "Llamada"}, {"follow_up", "Seguimiento"}, {"demo", "Demo"}, {"visit", "Visita"},
}

const maxName = 80

// validate checks in against the workspace's data (stages, labels, teams, people, templates).
func (s *Service) validate(tx *gorm.DB, wsID int64, in *Input) apperr.Validation {
	v := apperr.Validation{}
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	switch {
	case in.Name == "":
		v.Add("name", "Escribe un nombre, por ejemplo «Propuesta: tarea de seguimiento»")
	case utf8.RuneCountInString(in.Name) > maxName:
		v.Add("name", fmt.Sprintf("El nombre puede tener hasta %d caracteres", maxName))
	}
	exists := func(table string, id int64, extra string) bool {
		if id <= 0 {
			return false
		}
		var n int64
		tx.Table(table).Where("workspace_id = ? AND id = ?"+extra, wsID, id).Count(&n)
		return n > 0
	}
	in.Trigger = Trigger{StageID: in.Trigger.StageID, LabelID: in.Trigger.LabelID}
	switch in.TriggerKind {
	case models.TriggerLeadStage:
		in.Trigger.LabelID = 0
		if !exists("stages", in.Trigger.StageID, "") {
			v.Add("trigger_stage_id", "Elige la etapa del embudo")
		}
	case models.TriggerLabelAdded:
		in.Trigger.StageID = 0
		if !exists("labels", in.Trigger.LabelID, "") {
			v.Add("trigger_label_id", "Elige la etiqueta")
		}
	case models.TriggerConversationClosed:
		in.Trigger = Trigger{}
	default:
		v.Add("trigger_kind", "Elige cuándo se ejecuta")
	}
	a := in.Action
	out := Action{}
	switch in.ActionKind {
	case models.ActionAssign:
		if a.TeamID == 0 && a.UserID == 0 {
			v.Add("action_team_id", "Elige un equipo o un agente")
		}
		if a.TeamID != 0 && !exists("teams", a.TeamID, "") {
			v.Add("action_team_id", "Ese equipo no existe")
		}
		if a.UserID != 0 && !exists("users", a.UserID, " AND active") {
			v.Add("action_user_id", "Esa persona no existe o está desactivada")
		}
		out.TeamID, out.UserID = a.TeamID, a.UserID
	case models.ActionAddLabel:
		if !exists("labels", a.LabelID, "") {
			v.Add("action_label_id", "Elige la etiqueta que se añade")
		}
		if in.TriggerKind == models.TriggerLabelAdded && a.LabelID == in.Trigger.LabelID && a.LabelID != 0 {
			v.Add("action_label_id", "La etiqueta que se añade debe ser otra que la que la dispara")
		}
		out.LabelID = a.LabelID
	case models.ActionCreateTask:
		kindOK := false
		for _, k := range TaskKinds {
			kindOK = kindOK || k.Key == a.TaskKind
		}
		if !kindOK {
			v.Add("action_task_kind", "Elige el tipo de tarea")
		}
		a.TaskTitle = strings.Join(strings.Fields(a.TaskTitle), " ")
		if a.TaskTitle == "" {
			v.Add("action_task_title", "Escribe qué hay que hacer, por ejemplo «Llamar para cerrar la propuesta»")
		} else if utf8.RuneCountInString(a.TaskTitle) > 200 {
			v.Add("action_task_title", "La tarea puede tener hasta 200 caracteres")
		}
		if a.DueMinutes < 0 || a.DueMinutes > 60*24*365 {
			v.Add("action_due", "El plazo va de 0 minutos a un año")
		}
		if a.UserID != 0 && !exists("users", a.UserID, " AND active") {
			v.Add("action_user_id", "Esa persona no existe o está desactivada")
		}
		out.TaskKind, out.TaskTitle, out.DueMinutes, out.UserID = a.TaskKind, a.TaskTitle, a.DueMinutes, a.UserID
	case models.ActionSendTemplate:
		var t models.Template
		if a.TemplateID <= 0 || tx.Where("workspace_id = ? AND id = ?", wsID, a.TemplateID).Take(&t).Error != nil {
			v.Add("action_template_id", "Elige una plantilla aprobada")
			break
		}
		if err := inbox.TemplateUsable(t, ""); err != nil {
			var verr apperr.Validation
			if errors.As(err, &verr) {
				v.Add("action_template_id", verr["template"])
			}
			break
		}
		out.TemplateID, out.Params = a.TemplateID, map[string]string{}
		for _, k := range TemplateVars(t) {
			val := strings.TrimSpace(a.Params[k])
			if val == "" {
				v.Add("action_params", fmt.Sprintf("Completa el valor de {{%s}}, por ejemplo {{nombre}}", k))
			}
			out.Params[k] = val
		}
	case models.ActionMoveLead:
		if !exists("stages", a.StageID, "") {
			v.Add("action_stage_id", "Elige la etapa a la que se mueve la oportunidad")
		}
		if in.TriggerKind == models.TriggerLeadStage && a.StageID == in.Trigger.StageID && a.StageID != 0 {
			v.Add("action_stage_id", "La oportunidad ya está en esa etapa cuando se dispara: elige otra")
		}
		out.StageID = a.StageID
	default:
		v.Add("action_kind", "Elige qué hace la automatización")
	}
	in.Action = out
	return v
}

func (in Input) audited() map[string]any {
	t, _ := json.Marshal(in.Trigger)
	a, _ := json.Marshal(in.Action)
	return map[string]any{"name": in.Name, "trigger": in.TriggerKind, "trigger_params": string(t), "action": in.ActionKind, "action_params": string(a)}
}

// ErrNoAutomation: no such automation in the workspace.
var ErrNoAutomation = apperr.NotFound{Msg: "No existe esa automatización."}

// List returns the workspace's automations in firing order.
func (s *Service) List(ctx context.Context, wsID int64) ([]Rule, error) {
	var rows []models.Automation
	if err := s.DB.WithContext(ctx).Where("workspace_id = ?", wsID).Order("position, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Rule, len(rows))
	for i, a := range rows {
		out[i] = read(a)
	}
	return out, nil
}

// Get returns one automation.
func (s *Service) Get(ctx context.Context, wsID, id int64) (Rule, error) {
	var a models.Automation
	err := s.DB.WithContext(ctx).Where("workspace_id = ? AND id = ?", wsID, id).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Rule{}, ErrNoAutomation
	}
	return read(a), err
}

// Save creates (id 0) or edits an automation; a new one fires after the others.
func (s *Service) Save(ctx context.Context, wsID, id int64, in Input) (Rule, error) {
	var out models.Automation
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if v := s.validate(tx, wsID, &in); len(v) > 0 {
			return v
		}
		tp, _ := json.Marshal(in.Trigger)
		ap, _ := json.Marshal(in.Action)
		now := s.Clock.Now()
		if id == 0 {
			out = models.Automation{WorkspaceID: wsID, Name: in.Name, TriggerKind: in.TriggerKind, TriggerParams: tp,
				ActionKind: in.ActionKind, ActionParams: ap, Active: true, CreatedAt: now, UpdatedAt: now}
			if err := tx.Raw(`SELECT COALESCE(max(position), 0) + 1 FROM automations WHERE workspace_id = ?`, wsID).Scan(&out.Position).Error; err != nil {
				return err
			}
			if err := tx.Create(&out).Error; err != nil {
				return err
			}
			return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.AutomationCreate, TargetType: "automation", TargetID: out.ID, After: in.audited()})
		}
		if err := tx.Clauses(forUpdate).Where("workspace_id = ? AND id = ?", wsID, id).Take(&out).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNoAutomation
			}
			return err
		}
		before := read(out)
		prev := Input{Name: before.Name, TriggerKind: before.TriggerKind, Trigger: before.Trigger, ActionKind: before.ActionKind, Action: before.Action}
		out.Name, out.TriggerKind, out.TriggerParams, out.ActionKind, out.ActionParams, out.UpdatedAt = in.Name, in.TriggerKind, tp, in.ActionKind, ap, now
		if err := tx.Select("name", "trigger_kind", "trigger_params", "action_kind", "action_params", "updated_at").Save(&out).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.AutomationUpdate, TargetType: "automation", TargetID: out.ID,
			Before: prev.audited(), After: in.audited()})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return Rule{}, apperr.Validation{"name": "Ya hay una automatización con ese nombre"}
	}
	return read(out), err
}

// SetActive pauses (false) or resumes (true) an automation.
func (s *Service) SetActive(ctx context.Context, wsID, id int64, active bool) (Rule, error) {
	var out models.Automation
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(forUpdate).Where("workspace_id = ? AND id = ?", wsID, id).Take(&out).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNoAutomation
			}
			return err
		}
		if out.Active == active {
			return nil
		}
		before := out.Active
		out.Active, out.UpdatedAt = active, s.Clock.Now()
		if err := tx.Select("active", "updated_at").Save(&out).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.AutomationUpdate, TargetType: "automation", TargetID: out.ID,
			Before: map[string]any{"name": out.Name, "active": before}, After: map[string]any{"name": out.Name, "active": active}})
	})
	return read(out), err
}

// Delete removes an automation (its runs go with it).
func (s *Service) Delete(ctx context.Context, wsID, id int64) (Rule, error) {
	var out models.Automation
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(forUpdate).Where("workspace_id = ? AND id = ?", wsID, id).Take(&out).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNoAutomation
			}
			return err
		}
		if err := tx.Delete(&out).Error; err != nil {
			return err
		}
		r := read(out)
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.AutomationDelete, TargetType: "automation", TargetID: out.ID,
			Before: Input{Name: r.Name, TriggerKind: r.TriggerKind, Trigger: r.Trigger, ActionKind: r.ActionKind, Action: r.Action}.audited()})
	})
	return read(out), err
}

// RunCounts returns, per automation, how many times it ran.
func (s *Service) RunCounts(ctx context.Context, wsID int64) (map[int64]int, error) {
	var rows []struct {
		AutomationID int64
		N            int
	}
	err := s.DB.WithContext(ctx).Raw(`SELECT automation_id, count(*) AS n FROM automation_runs WHERE workspace_id = ? GROUP BY automation_id`, wsID).Scan(&rows).Error
	out := map[int64]int{}
	for _, r := range rows {
		out[r.AutomationID] = r.N
	}
	return out, err
}

// TemplateVars are the body variables of t a rule must fill ("1", "2"… or names).
func TemplateVars(t models.Template) []string {
	return templateVars(t)
}

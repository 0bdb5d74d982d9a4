package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/automations"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/views/pages/settings"
)

// Automatizaciones (Configuración → Automatizaciones): "cuando … entonces …" rules.

func (s *Server) automations() *automations.Service { return s.Services.Automations }

var triggerLabels = []settings.Choice{
	{Value: models.TriggerLeadStage, Label: "una oportunidad entra en una etapa"},
	{Value: models.TriggerConversationClosed, Label: "se cierra una conversación"},
	{Value: models.TriggerLabelAdded, Label: "se añade una etiqueta a una conversación"},
}

var actionLabels = []settings.Choice{
	{Value: models.ActionAssign, Label: "asignar a un equipo o agente"},
	{Value: models.ActionAddLabel, Label: "añadir una etiqueta"},
	{Value: models.ActionCreateTask, Label: "crear una tarea"},
	{Value: models.ActionSendTemplate, Label: "enviar una plantilla de WhatsApp"},
	{Value: models.ActionMoveLead, Label: "mover la oportunidad a una etapa"},
}

// automationChoices fills the form's selects.
func (s *Server) automationChoices(ctx context.Context, wsID int64, f *settings.AutomationForm) (map[string]map[string]settings.Choice, error) {
	rc, names, err := s.routingChoices(ctx, wsID)
	if err != nil {
		return nil, err
	}
	f.Triggers, f.Actions, f.Stages, f.Labels, f.Teams = triggerLabels, actionLabels, rc.Stages, rc.Labels, rc.Teams
	f.TaskKinds = nil
	for _, k := range automations.TaskKinds {
		f.TaskKinds = append(f.TaskKinds, settings.Choice{Value: k.Key, Label: k.Label})
	}
	f.Placeholders = nil
	for _, p := range automations.Placeholders {
		f.Placeholders = append(f.Placeholders, settings.Choice{Value: p.Key, Label: p.Label})
	}
	var users []models.User
	if err := s.DB.Gorm.WithContext(ctx).Select("id", "name").Where("workspace_id = ? AND active", wsID).Order("lower(name)").Find(&users).Error; err != nil {
		return nil, err
	}
	names["user"] = map[string]settings.Choice{}
	f.Users = nil
	for _, u := range users {
		o := settings.Choice{Value: itoa64(u.ID), Label: u.Name}
		f.Users = append(f.Users, o)
		names["user"][o.Value] = o
	}
	var tpls []models.Template
	if err := s.DB.Gorm.WithContext(ctx).Where("workspace_id = ?", wsID).Order("lower(name), language").Find(&tpls).Error; err != nil {
		return nil, err
	}
	names["template"] = map[string]settings.Choice{}
	keep := f.Templates
	f.Templates = nil
	for _, t := range tpls {
		names["template"][itoa64(t.ID)] = settings.Choice{Label: t.Name}
		if inbox.TemplateUsable(t, "") != nil {
			continue
		}
		tc := settings.TemplateChoice{ID: t.ID, Label: t.Name + " (" + t.Language + ")", Vars: automations.TemplateVars(t), Values: map[string]string{}}
		for _, k := range keep {
			if k.ID == t.ID {
				tc.Values = k.Values
			}
		}
		if len(tc.Values) == 0 && len(tc.Vars) > 0 {
			tc.Values[tc.Vars[0]] = "{{nombre}}"
		}
		f.Templates = append(f.Templates, tc)
	}
	return names, nil
}

// sentence says a rule in Spanish: "Cuando una oportunidad entra en «Propuesta»", "crear la tarea …".
func sentence(r automations.Rule, names map[string]map[string]settings.Choice) (string, string) {
	when := "Cuando "
	switch r.TriggerKind {
	case models.TriggerLeadStage:
		when += "una oportunidad entra en «" + names["stage"][itoa64(r.Trigger.StageID)].Label + "»"
	case models.TriggerConversationClosed:
		when += "se cierra una conversación"
	case models.TriggerLabelAdded:
		when += "se añade la etiqueta «" + names["label"][itoa64(r.Trigger.LabelID)].Label + "»"
	}
	a := r.Action
	then := "entonces "
	switch r.ActionKind {
	case models.ActionAssign:
		team, user := names["team"][itoa64(a.TeamID)].Label, names["user"][itoa64(a.UserID)].Label
		switch {
		case a.TeamID != 0 && a.UserID != 0:
			then += "asignar a " + user + " (" + team + ")"
		case a.TeamID != 0:
			then += "pasar a la cola de " + team
		default:
			then += "asignar a " + user
		}
	case models.ActionAddLabel:
		then += "añadir la etiqueta «" + names["label"][itoa64(a.LabelID)].Label + "»"
	case models.ActionCreateTask:
		who := "para el dueño de la oportunidad"
		if a.UserID != 0 {
			who = "para " + names["user"][itoa64(a.UserID)].Label
		}
		then += "crear la tarea «" + a.TaskTitle + "» " + who + " (" + automations.DueText(a.DueMinutes) + ")"
	case models.ActionSendTemplate:
		then += "enviar la plantilla «" + names["template"][itoa64(a.TemplateID)].Label + "»"
	case models.ActionMoveLead:
		then += "mover la oportunidad a «" + names["stage"][itoa64(a.StageID)].Label + "»"
	}
	return when, then
}

func (s *Server) automationsPage(c echo.Context, status int, f settings.AutomationForm) error {
	ctx := c.Request().Context()
	wsID := viewer(c).Workspace.ID
	names, err := s.automationChoices(ctx, wsID, &f)
	if err != nil {
		return err
	}
	rules, err := s.automations().List(ctx, wsID)
	if err != nil {
		return err
	}
	runs, err := s.automations().RunCounts(ctx, wsID)
	if err != nil {
		return err
	}
	rows := make([]settings.AutomationRow, len(rules))
	for i, r := range rules {
		when, then := sentence(r, names)
		rows[i] = settings.AutomationRow{ID: r.ID, Name: r.Name, When: when, Then: then, Active: r.Active, Runs: runs[r.ID]}
	}
	f.CSRFToken = s.csrfToken(c)
	return s.render(c, status, s.globals(c, "Automatizaciones", "settings"), settings.Shell("automations", settings.Automations(rows, f)))
}

func (s *Server) automationsList(c echo.Context) error {
	return s.automationsPage(c, http.StatusOK, settings.AutomationForm{DueAmount: 1, DueUnit: "days", TaskKind: "follow_up"})
}

// automationInput parses the form; the due time is an amount and a unit.
func automationInput(c echo.Context) (automations.Input, settings.AutomationForm) {
	in := automations.Input{Name: c.FormValue("name"), TriggerKind: c.FormValue("trigger_kind"), ActionKind: c.FormValue("action_kind"),
		Trigger: automations.Trigger{StageID: formInt64(c, "trigger_stage_id"), LabelID: formInt64(c, "trigger_label_id")}}
	amount, unit := formInt(c, "action_due_amount"), c.FormValue("action_due_unit")
	mult := map[string]int{"minutes": 1, "hours": 60, "days": 60 * 24}[unit]
	if mult == 0 {
		mult, unit = 60*24, "days"
	}
	due := amount * mult
	if amount < 0 {
		due = -1
	}
	a := automations.Action{TeamID: formInt64(c, "action_team_id"), UserID: formInt64(c, "action_user_id"), LabelID: formInt64(c, "action_label_id"),
		TaskKind: c.FormValue("action_task_kind"), TaskTitle: c.FormValue("action_task_title"), DueMinutes: due,
		TemplateID: formInt64(c, "action_template_id"), StageID: formInt64(c, "action_stage_id"), Params: map[string]string{}}
	if in.ActionKind == models.ActionCreateTask {
		a.UserID = formInt64(c, "action_task_user_id")
	}
	f := settings.AutomationForm{Name: in.Name, TriggerKind: in.TriggerKind, TriggerStageID: in.Trigger.StageID, TriggerLabelID: in.Trigger.LabelID,
		ActionKind: in.ActionKind, TeamID: a.TeamID, UserID: a.UserID, LabelID: a.LabelID, TaskKind: a.TaskKind, TaskTitle: a.TaskTitle,
		DueAmount: amount, DueUnit: unit, TemplateID: a.TemplateID, StageID: a.StageID}
	if form, err := c.FormParams(); err == nil && a.TemplateID != 0 {
		prefix := "param_" + itoa64(a.TemplateID) + "_"
		tc := settings.TemplateChoice{ID: a.TemplateID, Values: map[string]string{}}
		for k, v := range form {
			if len(k) > len(prefix) && k[:len(prefix)] == prefix && len(v) > 0 {
				a.Params[k[len(prefix):]] = v[0]
				tc.Values[k[len(prefix):]] = v[0]
			}
		}
		f.Templates = []settings.TemplateChoice{tc}
	}
	in.Action = a
	return in, f
}

func (s *Server) automationCreate(c echo.Context) error {
	in, f := automationInput(c)
	r, err := s.automations().Save(c.Request().Context(), viewer(c).Workspace.ID, 0, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Automatización creada: "+r.Name)
		return seeOther(c, "/settings/automations")
	case errors.As(err, &verr):
		f.Errors = verr
		return s.automationsPage(c, http.StatusUnprocessableEntity, f)
	}
	return err
}

func (s *Server) automationEditPage(c echo.Context, status int, f settings.AutomationForm) error {
	if _, err := s.automationChoices(c.Request().Context(), viewer(c).Workspace.ID, &f); err != nil {
		return err
	}
	f.CSRFToken = s.csrfToken(c)
	return s.render(c, status, s.globals(c, "Editar automatización", "settings"), settings.Shell("automations", settings.AutomationEdit(f)))
}

func (s *Server) automationEdit(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	r, err := s.automations().Get(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	a := r.Action
	f := settings.AutomationForm{ID: r.ID, Name: r.Name, TriggerKind: r.TriggerKind, TriggerStageID: r.Trigger.StageID, TriggerLabelID: r.Trigger.LabelID,
		ActionKind: r.ActionKind, TeamID: a.TeamID, UserID: a.UserID, LabelID: a.LabelID, TaskKind: a.TaskKind, TaskTitle: a.TaskTitle,
		TemplateID: a.TemplateID, StageID: a.StageID, DueAmount: a.DueMinutes, DueUnit: "minutes"}
	switch {
	case a.DueMinutes > 0 && a.DueMinutes%(60*24) == 0:
		f.DueAmount, f.DueUnit = a.DueMinutes/(60*24), "days"
	case a.DueMinutes > 0 && a.DueMinutes%60 == 0:
		f.DueAmount, f.DueUnit = a.DueMinutes/60, "hours"
	}
	if a.TemplateID != 0 {
		f.Templates = []settings.TemplateChoice{{ID: a.TemplateID, Values: a.Params}}
	}
	return s.automationEditPage(c, http.StatusOK, f)
}

func (s *Server) automationUpdate(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	in, f := automationInput(c)
	f.ID = id
	r, err := s.automations().Save(c.Request().Context(), viewer(c).Workspace.ID, id, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Cambios guardados: "+r.Name)
		return seeOther(c, "/settings/automations")
	case errors.As(err, &verr):
		f.Errors = verr
		return s.automationEditPage(c, http.StatusUnprocessableEntity, f)
	}
	return err
}

func (s *Server) automationToggle(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	active, _ := strconv.ParseBool(c.FormValue("active"))
	r, err := s.automations().SetActive(c.Request().Context(), viewer(c).Workspace.ID, id, active)
	if err != nil {
		return err
	}
	if r.Active {
		s.flash(c, "Automatización reanudada: "+r.Name)
	} else {
		s.flash(c, "Automatización pausada: "+r.Name+". No se ejecuta hasta que la reanudes.")
	}
	return seeOther(c, "/settings/automations")
}

func (s *Server) automationDelete(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	r, err := s.automations().Delete(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	s.flash(c, "Automatización eliminada: "+r.Name)
	return seeOther(c, "/settings/automations")
}

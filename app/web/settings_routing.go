package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/setup"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/views/pages/settings"
)

// Enrutamiento (Configuración → Enrutamiento): the routing rules in order, reordered
// by drag; and each channel's welcome menu (Configuración → Canales → menú).

func (s *Server) setup() *setup.Service { return setup.New(s.DB.Gorm, s.Clock) }

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// routingChoices loads the selects of the rule form (and the names the list shows).
func (s *Server) routingChoices(ctx context.Context, wsID int64) (settings.RoutingChoices, map[string]map[string]settings.Choice, error) {
	db := s.DB.Gorm.WithContext(ctx)
	ch := settings.RoutingChoices{}
	names := map[string]map[string]settings.Choice{"team": {}, "label": {}, "stage": {}, "channel": {}}
	for _, k := range setup.RuleKinds {
		ch.Kinds = append(ch.Kinds, settings.Choice{Value: k.Kind, Label: k.Label})
	}
	for _, c := range setup.Countries {
		group := "América Latina"
		if i := slices.IndexFunc(setup.Countries, func(x setup.Country) bool { return x.Code == "DE" }); slices.Index(setup.Countries, c) >= i {
			group = "Otros países"
		}
		ch.Countries = append(ch.Countries, settings.Choice{Value: c.Code, Label: c.Name + " (" + c.Code + ")", Group: group})
	}
	for _, p := range setup.Priorities {
		ch.Priorities = append(ch.Priorities, settings.Choice{Value: p.Key, Label: p.Label})
	}
	var teams []models.Team
	if err := db.Where("workspace_id = ?", wsID).Order("lower(name)").Find(&teams).Error; err != nil {
		return ch, nil, err
	}
	for _, t := range teams {
		o := settings.Choice{Value: itoa64(t.ID), Label: t.Name, Group: t.Color}
		names["team"][o.Value] = o
		o.Group = ""
		ch.Teams = append(ch.Teams, o)
	}
	var labels []models.Label
	if err := db.Where("workspace_id = ?", wsID).Order("lower(name)").Find(&labels).Error; err != nil {
		return ch, nil, err
	}
	for _, l := range labels {
		o := settings.Choice{Value: itoa64(l.ID), Label: l.Name}
		names["label"][o.Value] = o
		ch.Labels = append(ch.Labels, o)
	}
	stages, err := s.stageChoices(ctx, wsID)
	if err != nil {
		return ch, nil, err
	}
	ch.Stages = stages
	for _, o := range stages {
		names["stage"][o.Value] = settings.Choice{Value: o.Value, Label: o.Group + " · " + o.Label}
	}
	var chans []models.Channel
	if err := db.Select("id", "name", "display_phone").Where("workspace_id = ?", wsID).Order("lower(name)").Find(&chans).Error; err != nil {
		return ch, nil, err
	}
	for _, c := range chans {
		o := settings.Choice{Value: itoa64(c.ID), Label: c.Name}
		names["channel"][o.Value] = o
		ch.Channels = append(ch.Channels, o)
	}
	return ch, names, nil
}

// stageChoices are the workspace's pipeline stages, grouped by pipeline.
func (s *Server) stageChoices(ctx context.Context, wsID int64) ([]settings.Choice, error) {
	var rows []struct {
		ID             int64
		Name, Pipeline string
	}
	err := s.DB.Gorm.WithContext(ctx).Raw(`SELECT s.id, s.name, p.name AS pipeline FROM stages s JOIN pipelines p ON p.id = s.pipeline_id
		WHERE p.workspace_id = ? ORDER BY p.position, p.id, s.position, s.id`, wsID).Scan(&rows).Error
	out := make([]settings.Choice, len(rows))
	for i, r := range rows {
		out[i] = settings.Choice{Value: itoa64(r.ID), Label: r.Name, Group: r.Pipeline}
	}
	return out, err
}

func ruleRows(rules []setup.Rule, names map[string]map[string]settings.Choice) []settings.RuleRow {
	kind := map[string]string{}
	for _, k := range setup.RuleKinds {
		kind[k.Kind] = k.Label
	}
	prio := map[string]string{}
	for _, p := range setup.Priorities {
		prio[p.Key] = p.Label
	}
	out := make([]settings.RuleRow, len(rules))
	for i, r := range rules {
		row := settings.RuleRow{ID: r.ID, Position: r.Position, Name: r.Name, Kind: kind[r.Kind], Active: r.Active}
		switch r.Kind {
		case models.RuleCountry:
			row.Condition = setup.CountryName(r.Cond.Country) + " (" + r.Cond.Country + ")"
		case models.RuleKeywords:
			row.Condition = strings.Join(r.Cond.Keywords, ", ")
		case models.RuleMenuOption:
			row.Condition = "«" + r.Cond.MenuOption + "»"
		case models.RuleStage:
			row.Condition = names["stage"][itoa64(r.Cond.StageID)].Label
		case models.RuleChannel:
			row.Condition = names["channel"][itoa64(r.Cond.ChannelID)].Label
		case models.RuleDefault:
			row.Condition = "todo lo que no coincide con otra regla"
		}
		if r.TeamID != nil {
			t := names["team"][itoa64(*r.TeamID)]
			row.Team, row.TeamColor = t.Label, t.Group
		}
		if r.LabelID != nil {
			row.Label = names["label"][itoa64(*r.LabelID)].Label
		}
		if r.Priority != "" {
			row.Priority = "Prioridad " + strings.ToLower(prio[r.Priority])
		}
		out[i] = row
	}
	return out
}

func (s *Server) routingPage(c echo.Context, status int, f settings.RuleForm) error {
	ctx := c.Request().Context()
	wsID := viewer(c).Workspace.ID
	choices, names, err := s.routingChoices(ctx, wsID)
	if err != nil {
		return err
	}
	rules, err := s.setup().Rules(ctx, wsID)
	if err != nil {
		return err
	}
	menus, err := s.setup().Menus(ctx, wsID)
	if err != nil {
		return err
	}
	p := settings.RoutingPage{Rules: ruleRows(rules, names), Choices: choices, CSRFToken: s.csrfToken(c)}
	var chans []models.Channel
	if err := s.DB.Gorm.WithContext(ctx).Select("id", "name", "display_phone").Where("workspace_id = ?", wsID).Order("lower(name)").Find(&chans).Error; err != nil {
		return err
	}
	for _, ch := range chans {
		m := menus[ch.ID]
		p.Channels = append(p.Channels, settings.MenuChannel{ID: ch.ID, Name: ch.Name, Phone: ch.DisplayPhone, HasMenu: m.Exists, Active: m.Active, Options: len(m.Options)})
	}
	if f.Kind == "" {
		f.Kind = models.RuleCountry
		if len(rules) == 0 {
			f.Kind = models.RuleDefault
		}
	}
	f.CSRFToken = p.CSRFToken
	p.Form = f
	return s.render(c, status, s.globals(c, "Enrutamiento", "settings"), settings.Shell("routing", settings.Routing(p)))
}

func (s *Server) routingList(c echo.Context) error {
	return s.routingPage(c, http.StatusOK, settings.RuleForm{})
}

func formInt64(c echo.Context, name string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(c.FormValue(name)), 10, 64)
	return n
}

func ruleInput(c echo.Context) setup.RuleInput {
	return setup.RuleInput{Name: c.FormValue("name"), Kind: c.FormValue("kind"), Country: c.FormValue("country"), Keywords: c.FormValue("keywords"),
		MenuOption: c.FormValue("menu_option"), StageID: formInt64(c, "stage_id"), ChannelID: formInt64(c, "channel_id"),
		TeamID: formInt64(c, "team_id"), LabelID: formInt64(c, "label_id"), Priority: c.FormValue("priority")}
}

func ruleForm(id int64, in setup.RuleInput, errs apperr.Validation) settings.RuleForm {
	return settings.RuleForm{ID: id, Name: in.Name, Kind: in.Kind, Country: in.Country, Keywords: in.Keywords, MenuOption: in.MenuOption,
		StageID: in.StageID, ChannelID: in.ChannelID, TeamID: in.TeamID, LabelID: in.LabelID, Priority: in.Priority, Errors: errs}
}

func (s *Server) ruleCreate(c echo.Context) error {
	in := ruleInput(c)
	r, err := s.setup().SaveRule(c.Request().Context(), viewer(c).Workspace.ID, 0, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Regla creada: "+r.Name+". Se prueba al final; arrástrala para cambiar su lugar.")
		return seeOther(c, "/settings/routing")
	case errors.As(err, &verr):
		return s.routingPage(c, http.StatusUnprocessableEntity, ruleForm(0, in, verr))
	}
	return err
}

func (s *Server) ruleEditPage(c echo.Context, status int, f settings.RuleForm) error {
	choices, _, err := s.routingChoices(c.Request().Context(), viewer(c).Workspace.ID)
	if err != nil {
		return err
	}
	f.CSRFToken = s.csrfToken(c)
	return s.render(c, status, s.globals(c, "Editar regla", "settings"), settings.Shell("routing", settings.RuleEdit(f, choices)))
}

func (s *Server) ruleEdit(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	r, err := s.setup().GetRule(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	f := settings.RuleForm{ID: r.ID, Name: r.Name, Kind: r.Kind, Country: r.Cond.Country, Keywords: strings.Join(r.Cond.Keywords, ", "),
		MenuOption: r.Cond.MenuOption, StageID: r.Cond.StageID, ChannelID: r.Cond.ChannelID, TeamID: idOr0(r.TeamID), LabelID: idOr0(r.LabelID), Priority: r.Priority}
	return s.ruleEditPage(c, http.StatusOK, f)
}

func (s *Server) ruleUpdate(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	in := ruleInput(c)
	r, err := s.setup().SaveRule(c.Request().Context(), viewer(c).Workspace.ID, id, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Cambios guardados: "+r.Name)
		return seeOther(c, "/settings/routing")
	case errors.As(err, &verr):
		return s.ruleEditPage(c, http.StatusUnprocessableEntity, ruleForm(id, in, verr))
	}
	return err
}

// ruleListOrBack answers an htmx request with the list as it is now, anything else
// with a redirect to the page.
func (s *Server) ruleListOrBack(c echo.Context, flash string) error {
	if c.Request().Header.Get("HX-Request") != "true" {
		if flash != "" {
			s.flash(c, flash)
		}
		return seeOther(c, "/settings/routing")
	}
	ctx := c.Request().Context()
	wsID := viewer(c).Workspace.ID
	_, names, err := s.routingChoices(ctx, wsID)
	if err != nil {
		return err
	}
	rules, err := s.setup().Rules(ctx, wsID)
	if err != nil {
		return err
	}
	if flash != "" {
		ev, _ := json.Marshal(map[string]any{"atiende:toast": map[string]string{"value": flash}})
		c.Response().Header().Set("HX-Trigger", string(ev))
	}
	return renderComponent(c, http.StatusOK, settings.RuleList(ruleRows(rules, names), s.csrfToken(c)))
}

func (s *Server) ruleToggle(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	wsID := viewer(c).Workspace.ID
	r, err := s.setup().GetRule(ctx, wsID, id)
	if err != nil {
		return err
	}
	if r, err = s.setup().SetRuleActive(ctx, wsID, id, !r.Active); err != nil {
		return err
	}
	msg := "Regla reanudada: " + r.Name
	if !r.Active {
		msg = "Regla pausada: " + r.Name + ". No se prueba hasta que la reanudes."
	}
	return s.ruleListOrBack(c, msg)
}

func (s *Server) ruleDelete(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	r, err := s.setup().DeleteRule(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	s.flash(c, "Regla eliminada: "+r.Name)
	return seeOther(c, "/settings/routing")
}

// ruleOrder saves the order of a drag: the rules' ids, first to last.
func (s *Server) ruleOrder(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return apperr.Validation{"ids": "Orden no válido"}
	}
	var ids []int64
	for _, v := range form["ids"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return apperr.Validation{"ids": "Orden no válido"}
		}
		ids = append(ids, id)
	}
	if err := s.setup().ReorderRules(c.Request().Context(), viewer(c).Workspace.ID, ids); err != nil {
		return err
	}
	return s.ruleListOrBack(c, "Orden guardado")
}

// ruleMove moves one rule a place up or down (the keyboard's way to reorder).
func (s *Server) ruleMove(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	wsID := viewer(c).Workspace.ID
	rules, err := s.setup().Rules(ctx, wsID)
	if err != nil {
		return err
	}
	ids := make([]int64, len(rules))
	at := -1
	for i, r := range rules {
		ids[i] = r.ID
		if r.ID == id {
			at = i
		}
	}
	if at < 0 {
		return setup.ErrNoRule
	}
	to := at - 1
	if c.FormValue("dir") == "down" {
		to = at + 1
	}
	if to >= 0 && to < len(ids) {
		ids[at], ids[to] = ids[to], ids[at]
		if err := s.setup().ReorderRules(ctx, wsID, ids); err != nil {
			return err
		}
	}
	return s.ruleListOrBack(c, "Orden guardado")
}

// Welcome menus.

func (s *Server) menuPage(c echo.Context, status int, chID int64, f *settings.MenuForm) error {
	ctx := c.Request().Context()
	wsID := viewer(c).Workspace.ID
	ch, m, err := s.setup().Menu(ctx, wsID, chID)
	if err != nil {
		return err
	}
	choices, _, err := s.routingChoices(ctx, wsID)
	if err != nil {
		return err
	}
	if f == nil {
		f = &settings.MenuForm{Text: m.Text, Active: m.Active || !m.Exists}
		for _, o := range m.Options {
			f.Options = append(f.Options, settings.MenuOptionRow{Key: o.Key, Title: o.Title, TeamID: idOr0(o.TeamID), LabelID: idOr0(o.LabelID)})
		}
	}
	for len(f.Options) < settings.MaxMenuOptions {
		f.Options = append(f.Options, settings.MenuOptionRow{})
	}
	f.ChannelID, f.ChannelName, f.Exists = ch.ID, ch.Name, m.Exists
	f.Teams, f.Labels, f.CSRFToken = choices.Teams, choices.Labels, s.csrfToken(c)
	return s.render(c, status, s.globals(c, "Menú de bienvenida", "settings"), settings.Shell("routing", settings.MenuEdit(*f)))
}

func (s *Server) menuEdit(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	return s.menuPage(c, http.StatusOK, id, nil)
}

func (s *Server) menuSave(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	in := setup.MenuInput{Text: c.FormValue("text"), Active: c.FormValue("active") == "1"}
	f := settings.MenuForm{Text: in.Text, Active: in.Active}
	for i := 0; i < settings.MaxMenuOptions; i++ {
		n := strconv.Itoa(i)
		o := models.MenuOption{Key: c.FormValue("key_" + n), Title: c.FormValue("title_" + n), TeamID: formID(c, "team_"+n), LabelID: formID(c, "label_"+n)}
		in.Options = append(in.Options, o)
		f.Options = append(f.Options, settings.MenuOptionRow{Key: o.Key, Title: o.Title, TeamID: idOr0(o.TeamID), LabelID: idOr0(o.LabelID)})
	}
	_, err = s.setup().SaveMenu(c.Request().Context(), viewer(c).Workspace.ID, id, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Menú de bienvenida guardado.")
		return seeOther(c, "/settings/routing#menus")
	case errors.As(err, &verr):
		for i := range f.Options {
			f.Options[i].Error = verr["option_"+strconv.Itoa(i)]
		}
		f.Errors = verr
		return s.menuPage(c, http.StatusUnprocessableEntity, id, &f)
	}
	return err
}

func (s *Server) menuDelete(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	if err := s.setup().DeleteMenu(c.Request().Context(), viewer(c).Workspace.ID, id); err != nil {
		return err
	}
	s.flash(c, "Menú quitado.")
	return seeOther(c, "/settings/routing#menus")
}

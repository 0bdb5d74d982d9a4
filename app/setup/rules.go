// Package setup keeps what an admin configures for routing (issue 9): the routing
// rules and their order, each channel's welcome menu, and the business calendars.
// The routing engine (app/routing) reads the same tables; this package only edits
// them, each change audited in its transaction.
package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/models"
)

// Service edits the routing setup.
type Service struct {
	DB    *gorm.DB
	Clock clock.Clock
}

// New returns a Service.
func New(db *gorm.DB, c clock.Clock) *Service { return &Service{DB: db, Clock: c} }

var forUpdate = clause.Locking{Strength: "UPDATE"}

// Country is a country a rule may name, by ISO code.
type Country struct{ Code, Name string }

// Countries lists Latin America first (by name), then the others customers often write from.
var Countries = []Country{
	{"AR", "Argentina"}, {"BO", "Bolivia"}, {"BR", "Brasil"}, {"CL", "Chile"}, {"CO", "Colombia"},
	{"CR", "Costa Rica"}, {"CU", "Cuba"}, {"EC", "Ecuador"}, {"SV", "El Salvador"}, {"GT", "Guatemala"},
	{"HN", "Honduras"}, {"MX", "México"}, {"NI", "Nicaragua"}, {"PA", "Panamá"}, {"PY", "Paraguay"},
	{"PE", "Perú"}, {"PR", "Puerto Rico"}, {"DO", "República Dominicana"}, {"UY", "Uruguay"}, {"VE", "Venezuela"},
	{"DE", "Alemania"}, {"CA", "Canadá"}, {"ES", "España"}, {"US", "Estados Unidos"}, {"FR", "Francia"},
	{"IT", "Italia"}, {"GB", "Reino Unido"}, {"PT", "Portugal"},
}

// CountryName is the Spanish name of an ISO code (the code itself when unknown).
func CountryName(code string) string {
	for _, c := range Countries {
		if c.Code == code {
			return c.Name
		}
	}
	return code
}

// RuleKinds are the kinds of rule with their Spanish names, in the form's order.
var RuleKinds = []struct{ Kind, Label string }{
	{models.RuleCountry, "País del número"},
	{models.RuleKeywords, "Palabras clave"},
	{models.RuleMenuOption, "Opción del menú"},
	{models.RuleStage, "Etapa del embudo"},
	{models.RuleChannel, "Canal"},
	{models.RuleCompanyOwner, "Dueño de la empresa"},
	{models.RuleDefault, "Predeterminada"},
}

// Priorities a rule may set, with their Spanish names.
var Priorities = []struct{ Key, Label string }{
	{"", "Sin prioridad"}, {"low", "Baja"}, {"normal", "Normal"}, {"high", "Alta"}, {"urgent", "Urgente"},
}

// Cond is a rule's condition as stored in routing_rules.cond.
type Cond struct {
	Country      string   `json:"country,omitempty"`
	Keywords     []string `json:"keywords,omitempty"`
	MenuOption   string   `json:"menu_option,omitempty"`
	StageID      int64    `json:"stage_id,omitempty"`
	ChannelID    int64    `json:"channel_id,omitempty"`
	CompanyOwner bool     `json:"company_owner,omitempty"`
	Default      bool     `json:"default,omitempty"`
}

// Rule is a routing rule with its condition read.
type Rule struct {
	models.RoutingRule
	Cond Cond
}

// ReadRule reads a stored rule's condition.
func ReadRule(r models.RoutingRule) Rule {
	out := Rule{RoutingRule: r}
	_ = json.Unmarshal(r.Cond, &out.Cond)
	return out
}

// RuleInput is what creating or editing a rule takes.
type RuleInput struct {
	Name       string
	Kind       string
	Country    string
	Keywords   string // comma separated
	MenuOption string
	StageID    int64
	ChannelID  int64
	TeamID     int64
	LabelID    int64
	Priority   string
}

// SplitKeywords splits a comma-separated list, trimmed, without empties or repeats.
func SplitKeywords(s string) []string {
	var out []string
	for _, k := range strings.Split(s, ",") {
		k = strings.Join(strings.Fields(k), " ")
		if k != "" && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, k) }) {
			out = append(out, k)
		}
	}
	return out
}

func exists(tx *gorm.DB, table string, wsID, id int64) bool {
	if id <= 0 {
		return false
	}
	var n int64
	tx.Table(table).Where("workspace_id = ? AND id = ?", wsID, id).Count(&n)
	return n > 0
}

// validate checks in and builds its condition; self is the rule being edited (0: new).
func validateRule(tx *gorm.DB, wsID, self int64, in *RuleInput) (Cond, apperr.Validation) {
	v := apperr.Validation{}
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	switch {
	case in.Name == "":
		v.Add("name", "Escribe un nombre, por ejemplo «México a Ventas»")
	case utf8.RuneCountInString(in.Name) > 80:
		v.Add("name", "El nombre puede tener hasta 80 caracteres")
	}
	var c Cond
	switch in.Kind {
	case models.RuleCountry:
		in.Country = strings.ToUpper(strings.TrimSpace(in.Country))
		if CountryName(in.Country) == in.Country {
			v.Add("country", "Elige un país de la lista")
		}
		c.Country = in.Country
	case models.RuleKeywords:
		kws := SplitKeywords(in.Keywords)
		switch {
		case len(kws) == 0:
			v.Add("keywords", "Escribe al menos una palabra clave, separadas por comas")
		case len(kws) > 30:
			v.Add("keywords", "Usa hasta 30 palabras clave por regla")
		}
		for _, k := range kws {
			if utf8.RuneCountInString(k) > 40 {
				v.Add("keywords", fmt.Sprintf("«%s» es demasiado larga: cada palabra clave puede tener hasta 40 caracteres", k))
				break
			}
		}
		c.Keywords = kws
	case models.RuleMenuOption:
		in.MenuOption = strings.TrimSpace(in.MenuOption)
		if in.MenuOption == "" || utf8.RuneCountInString(in.MenuOption) > 20 {
			v.Add("menu_option", "Escribe la clave de la opción del menú, por ejemplo «1»")
		}
		c.MenuOption = in.MenuOption
	case models.RuleStage:
		if !exists(tx, "stages", wsID, in.StageID) {
			v.Add("stage_id", "Elige la etapa del embudo")
		}
		c.StageID = in.StageID
	case models.RuleChannel:
		if !exists(tx, "channels", wsID, in.ChannelID) {
			v.Add("channel_id", "Elige el canal")
		}
		c.ChannelID = in.ChannelID
	case models.RuleCompanyOwner:
		c.CompanyOwner = true
	case models.RuleDefault:
		c.Default = true
		var other models.RoutingRule
		tx.Where("workspace_id = ? AND kind = ? AND id <> ?", wsID, models.RuleDefault, self).Limit(1).Find(&other)
		if other.ID != 0 {
			v.Add("kind", fmt.Sprintf("Solo puede haber una regla predeterminada y ya existe «%s»: edítala en lugar de crear otra", other.Name))
		}
	default:
		v.Add("kind", "Elige el tipo de condición")
	}
	switch {
	case in.TeamID == 0 && in.Kind != models.RuleCompanyOwner:
		v.Add("team_id", "Elige un equipo")
	case in.TeamID != 0 && !exists(tx, "teams", wsID, in.TeamID):
		v.Add("team_id", "Ese equipo no existe")
	}
	if in.LabelID != 0 && !exists(tx, "labels", wsID, in.LabelID) {
		v.Add("label_id", "Esa etiqueta no existe")
	}
	if !slices.ContainsFunc(Priorities, func(p struct{ Key, Label string }) bool { return p.Key == in.Priority }) {
		v.Add("priority", "Elige una prioridad de la lista")
	}
	return c, v
}

func ptrID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func ruleAudit(r models.RoutingRule) map[string]any {
	return map[string]any{"name": r.Name, "kind": r.Kind, "cond": string(r.Cond), "team_id": r.TeamID, "label_id": r.LabelID,
		"priority": r.Priority, "active": r.Active}
}

// ErrNoRule: no such rule in the workspace.
var ErrNoRule = apperr.NotFound{Msg: "No existe esa regla."}

// Rules returns the workspace's rules in the order routing tries them.
func (s *Service) Rules(ctx context.Context, wsID int64) ([]Rule, error) {
	var rows []models.RoutingRule
	if err := s.DB.WithContext(ctx).Where("workspace_id = ?", wsID).Order("position, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Rule, len(rows))
	for i, r := range rows {
		out[i] = ReadRule(r)
	}
	return out, nil
}

// GetRule returns one rule.
func (s *Service) GetRule(ctx context.Context, wsID, id int64) (Rule, error) {
	var r models.RoutingRule
	err := s.DB.WithContext(ctx).Where("workspace_id = ? AND id = ?", wsID, id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Rule{}, ErrNoRule
	}
	return ReadRule(r), err
}

// SaveRule creates (id 0, last in the order) or edits a rule.
func (s *Service) SaveRule(ctx context.Context, wsID, id int64, in RuleInput) (Rule, error) {
	var out models.RoutingRule
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// One admin at a time edits the workspace's rules (the one-default rule holds).
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('routing_rules'), ?::int)`, wsID).Error; err != nil {
			return err
		}
		cond, v := validateRule(tx, wsID, id, &in)
		if len(v) > 0 {
			return v
		}
		cj, _ := json.Marshal(cond)
		now := s.Clock.Now()
		if id == 0 {
			out = models.RoutingRule{WorkspaceID: wsID, Name: in.Name, Kind: in.Kind, Cond: cj, TeamID: ptrID(in.TeamID),
				LabelID: ptrID(in.LabelID), Priority: in.Priority, Active: true, CreatedAt: now, UpdatedAt: now}
			if err := tx.Raw(`SELECT COALESCE(max(position), 0) + 1 FROM routing_rules WHERE workspace_id = ?`, wsID).Scan(&out.Position).Error; err != nil {
				return err
			}
			if err := tx.Create(&out).Error; err != nil {
				return err
			}
			return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.RoutingRuleCreate, TargetType: "routing_rule", TargetID: out.ID, After: ruleAudit(out)})
		}
		if err := tx.Clauses(forUpdate).Where("workspace_id = ? AND id = ?", wsID, id).Take(&out).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNoRule
			}
			return err
		}
		before := ruleAudit(out)
		out.Name, out.Kind, out.Cond, out.TeamID, out.LabelID, out.Priority, out.UpdatedAt =
			in.Name, in.Kind, cj, ptrID(in.TeamID), ptrID(in.LabelID), in.Priority, now
		if err := tx.Select("name", "kind", "cond", "team_id", "label_id", "priority", "updated_at").Save(&out).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.RoutingRuleUpdate, TargetType: "routing_rule", TargetID: out.ID,
			Before: before, After: ruleAudit(out)})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return Rule{}, apperr.Validation{"name": "Ya hay una regla con ese nombre"}
	}
	return ReadRule(out), err
}

// SetRuleActive pauses (false) or resumes (true) a rule.
func (s *Service) SetRuleActive(ctx context.Context, wsID, id int64, active bool) (Rule, error) {
	var out models.RoutingRule
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(forUpdate).Where("workspace_id = ? AND id = ?", wsID, id).Take(&out).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNoRule
			}
			return err
		}
		if out.Active == active {
			return nil
		}
		out.Active, out.UpdatedAt = active, s.Clock.Now()
		if err := tx.Select("active", "updated_at").Save(&out).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.RoutingRuleUpdate, TargetType: "routing_rule", TargetID: out.ID,
			Before: map[string]any{"name": out.Name, "active": !active}, After: map[string]any{"name": out.Name, "active": active}})
	})
	return ReadRule(out), err
}

// DeleteRule removes a rule.
func (s *Service) DeleteRule(ctx context.Context, wsID, id int64) (Rule, error) {
	var out models.RoutingRule
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(forUpdate).Where("workspace_id = ? AND id = ?", wsID, id).Take(&out).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNoRule
			}
			return err
		}
		if err := tx.Delete(&out).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.RoutingRuleDelete, TargetType: "routing_rule", TargetID: out.ID, Before: ruleAudit(out)})
	})
	return ReadRule(out), err
}

// ReorderRules sets the order routing tries the rules in: ids must be every rule of
// the workspace, each once. Positions are rewritten 1…n in one transaction.
func (s *Service) ReorderRules(ctx context.Context, wsID int64, ids []int64) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('routing_rules'), ?::int)`, wsID).Error; err != nil {
			return err
		}
		var rows []models.RoutingRule
		if err := tx.Clauses(forUpdate).Where("workspace_id = ?", wsID).Order("position, id").Find(&rows).Error; err != nil {
			return err
		}
		have := make([]int64, len(rows))
		names := map[int64]string{}
		before := make([]string, len(rows))
		for i, r := range rows {
			have[i], names[r.ID], before[i] = r.ID, r.Name, r.Name
		}
		want := slices.Clone(ids)
		slices.Sort(want)
		sorted := slices.Clone(have)
		slices.Sort(sorted)
		if !slices.Equal(want, sorted) {
			return apperr.Conflict{Msg: "Las reglas cambiaron mientras las ordenabas: recarga la página y vuelve a intentarlo."}
		}
		if slices.Equal(ids, have) {
			return nil
		}
		if err := tx.Exec(`UPDATE routing_rules r SET position = o.n, updated_at = ? FROM unnest(?::bigint[]) WITH ORDINALITY AS o(id, n)
			WHERE r.id = o.id AND r.workspace_id = ?`, s.Clock.Now(), pgArray(ids), wsID).Error; err != nil {
			return err
		}
		after := make([]string, len(ids))
		for i, id := range ids {
			after[i] = names[id]
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.RoutingRuleReorder, TargetType: "workspace", TargetID: wsID,
			Before: map[string]any{"order": before}, After: map[string]any{"order": after}})
	})
}

func pgArray(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// Routing setup lines (issue 9): a channel's welcome menu and the routing rules, in
// file order; and the routing fields of team and agent lines.

// menuLine is a menu line's option.
type menuLineOption struct {
	Key   string `json:"key"`
	Title string `json:"title"`
	Team  string `json:"team"`
	Label string `json:"label"`
}

func (st *run) menu(tx *gorm.DB, l line) error {
	text := strings.TrimSpace(l.Text)
	if text == "" {
		return errors.New(`a menu line needs a "text"`)
	}
	if utf8.RuneCountInString(text) > 1024 {
		return errors.New(`a menu's "text" has at most 1024 characters`)
	}
	chID, err := st.channelID(tx, l.Channel)
	if err != nil {
		return err
	}
	var in []menuLineOption
	if len(l.Options) == 0 || json.Unmarshal(l.Options, &in) != nil {
		return errors.New(`"options" must look like [{"key":"1","title":"Ventas","team":"Ventas","label":"Ventas"}]`)
	}
	if len(in) == 0 || len(in) > 10 {
		return errors.New("a menu has between 1 and 10 options")
	}
	seen := map[string]bool{}
	opts := make([]models.MenuOption, 0, len(in))
	for _, o := range in {
		o.Key, o.Title = strings.TrimSpace(o.Key), strings.TrimSpace(o.Title)
		if o.Key == "" || o.Title == "" {
			return errors.New(`every menu option needs a "key" and a "title"`)
		}
		if utf8.RuneCountInString(o.Key) > 20 || utf8.RuneCountInString(o.Title) > whatsapp.RowDescriptionMax {
			return fmt.Errorf("menu option %q: a key has at most 20 characters and a title at most %d", o.Key, whatsapp.RowDescriptionMax)
		}
		if seen[strings.ToLower(o.Key)] {
			return fmt.Errorf("two menu options have the key %q", o.Key)
		}
		seen[strings.ToLower(o.Key)] = true
		opt := models.MenuOption{Key: o.Key, Title: o.Title}
		if o.Team != "" {
			id, err := st.teamID(tx, o.Team)
			if err != nil {
				return err
			}
			opt.TeamID = &id
		}
		if o.Label != "" {
			id, err := st.labelID(tx, o.Label)
			if err != nil {
				return err
			}
			opt.LabelID = &id
		}
		opts = append(opts, opt)
	}
	b, _ := json.Marshal(opts)
	active := l.Active == nil || *l.Active
	return tx.Exec(`INSERT INTO channel_menus (workspace_id, channel_id, text, options, active) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (channel_id) DO UPDATE SET text = EXCLUDED.text, options = EXCLUDED.options, active = EXCLUDED.active, updated_at = now()`,
		st.ws.ID, chID, text, string(b), active).Error
}

// labelID finds a label by name, creating it when the workspace has none so called.
func (st *run) labelID(tx *gorm.DB, name string) (int64, error) {
	name = strings.TrimSpace(name)
	var id int64
	if err := tx.Raw(`SELECT id FROM labels WHERE workspace_id = ? AND lower(name) = lower(?)`, st.ws.ID, name).Scan(&id).Error; err != nil || id != 0 {
		return id, err
	}
	err := tx.Raw(`INSERT INTO labels (workspace_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id`, st.ws.ID, name).Scan(&id).Error
	return id, err
}

func (st *run) routingRule(tx *gorm.DB, l line) error {
	name := strings.TrimSpace(l.Name)
	if name == "" {
		return errors.New(`a routing_rule line needs a "name"`)
	}
	var when map[string]json.RawMessage
	if len(l.When) == 0 || json.Unmarshal(l.When, &when) != nil || len(when) != 1 {
		return errors.New(`"when" must hold one condition: country, keywords, menu_option, stage, channel, company_owner or default`)
	}
	var kind string
	var cond any
	for k, v := range when {
		kind = k
		switch k {
		case "country":
			var c string
			if json.Unmarshal(v, &c) != nil || len(strings.TrimSpace(c)) != 2 {
				return errors.New(`"country" is a two-letter ISO code, e.g. "MX"`)
			}
			cond = map[string]string{"country": strings.ToUpper(strings.TrimSpace(c))}
		case "keywords":
			var ks []string
			if json.Unmarshal(v, &ks) != nil || len(ks) == 0 {
				return errors.New(`"keywords" is a list of words, e.g. ["precio","cotización"]`)
			}
			cond = map[string][]string{"keywords": ks}
		case "menu_option":
			var key string
			if json.Unmarshal(v, &key) != nil || strings.TrimSpace(key) == "" {
				return errors.New(`"menu_option" is the key of a menu option, e.g. "1"`)
			}
			cond = map[string]string{"menu_option": strings.TrimSpace(key)}
		case "stage":
			var stage string
			if json.Unmarshal(v, &stage) != nil || strings.TrimSpace(stage) == "" {
				return errors.New(`"stage" is the name of a pipeline stage`)
			}
			var id int64
			if err := tx.Raw(`SELECT s.id FROM stages s JOIN pipelines p ON p.id = s.pipeline_id
				WHERE s.workspace_id = ? AND lower(s.name) = lower(?) ORDER BY p.is_default DESC, p.position, s.position LIMIT 1`,
				st.ws.ID, strings.TrimSpace(stage)).Scan(&id).Error; err != nil {
				return err
			}
			if id == 0 {
				return fmt.Errorf("unknown stage %q (add a pipeline line before it)", stage)
			}
			cond = map[string]int64{"stage_id": id}
		case "channel":
			var ch string
			if json.Unmarshal(v, &ch) != nil || strings.TrimSpace(ch) == "" {
				return errors.New(`"channel" is the name of a channel`)
			}
			id, err := st.channelID(tx, ch)
			if err != nil {
				return err
			}
			cond = map[string]int64{"channel_id": id}
		case "company_owner", "default":
			var b bool
			if json.Unmarshal(v, &b) != nil || !b {
				return fmt.Errorf(`"%s" must be true`, k)
			}
			cond = map[string]bool{k: true}
		default:
			return fmt.Errorf("unknown condition %q: use country, keywords, menu_option, stage, channel, company_owner or default", k)
		}
	}
	var teamID, labelID *int64
	if l.Team != nil && strings.TrimSpace(*l.Team) != "" {
		id, err := st.teamID(tx, *l.Team)
		if err != nil {
			return err
		}
		teamID = &id
	}
	if kind != models.RuleCompanyOwner && teamID == nil {
		return errors.New(`a routing_rule line needs a "team"`)
	}
	if strings.TrimSpace(l.Label) != "" {
		id, err := st.labelID(tx, l.Label)
		if err != nil {
			return err
		}
		labelID = &id
	}
	switch l.Priority {
	case "", "low", "normal", "high", "urgent":
	default:
		return fmt.Errorf("priority must be low, normal, high or urgent, not %q", l.Priority)
	}
	cb, _ := json.Marshal(cond)
	st.rulePos++
	active := l.Active == nil || *l.Active
	return tx.Exec(`INSERT INTO routing_rules (workspace_id, name, position, kind, cond, team_id, label_id, priority, active)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id, lower(name)) DO UPDATE SET position = EXCLUDED.position, kind = EXCLUDED.kind, cond = EXCLUDED.cond,
			team_id = EXCLUDED.team_id, label_id = EXCLUDED.label_id, priority = EXCLUDED.priority, active = EXCLUDED.active, updated_at = now()`,
		st.ws.ID, name, st.rulePos, kind, string(cb), teamID, labelID, l.Priority, active).Error
}

// teamRouting applies a team line's sticky and offline_grace ("10m").
func teamRouting(l line, upd map[string]any) error {
	if len(l.Sticky) > 0 && string(l.Sticky) != "null" {
		var b bool
		if json.Unmarshal(l.Sticky, &b) != nil {
			return errors.New(`"sticky" must be true or false`)
		}
		upd["sticky"] = b
	}
	if len(l.Grace) > 0 && string(l.Grace) != "null" {
		var s string
		if json.Unmarshal(l.Grace, &s) != nil {
			return errors.New(`"offline_grace" is a duration like "10m"`)
		}
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 0 || d > 24*time.Hour {
			return fmt.Errorf(`"offline_grace" is a duration like "10m" (up to "24h"), not %q`, s)
		}
		upd["offline_grace_seconds"] = int(d / time.Second)
	}
	return nil
}

// agentSchedule reads an agent line's schedule: a calendar's name ("" clears it).
func (st *run) agentSchedule(tx *gorm.DB, l line) (set bool, id *int64, err error) {
	if len(l.Schedule) == 0 || string(l.Schedule) == "null" {
		return false, nil, nil
	}
	var name string
	if json.Unmarshal(l.Schedule, &name) != nil {
		return false, nil, errors.New(`"schedule" is the name of a calendar`)
	}
	if strings.TrimSpace(name) == "" {
		return true, nil, nil
	}
	var cal int64
	if err := tx.Raw(`SELECT id FROM calendars WHERE workspace_id = ? AND lower(name) = lower(?)`, st.ws.ID, strings.TrimSpace(name)).Scan(&cal).Error; err != nil {
		return false, nil, err
	}
	if cal == 0 {
		return false, nil, fmt.Errorf("unknown calendar %q (add a calendar line before it)", name)
	}
	return true, &cal, nil
}

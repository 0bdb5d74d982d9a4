package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/models"
)

// slaFields are the fields of an sla_policy line (metrics.md "History import"):
// targets as durations ("1h", "90m", "2d"; null or "" = no target), business_hours
// and the warning threshold in percent of each target. A field the line leaves out
// keeps its current value.
type slaFields struct {
	FirstResponse json.RawMessage `json:"first_response"`
	NextResponse  json.RawMessage `json:"next_response"`
	Resolution    json.RawMessage `json:"resolution"`
	BusinessHours *bool           `json:"business_hours"`
	Warning       *int            `json:"warning"`
}

// slaPolicy applies an sla_policy line: created or updated by name.
func (st *run) slaPolicy(tx *gorm.DB, l line) error {
	name := strings.TrimSpace(l.Name)
	if name == "" {
		return errors.New(`an sla_policy line needs a "name"`)
	}
	upd := map[string]any{}
	for _, f := range []struct {
		field, column string
		raw           json.RawMessage
	}{
		{"first_response", "first_response_seconds", l.slaFields.FirstResponse},
		{"next_response", "next_response_seconds", l.slaFields.NextResponse},
		{"resolution", "resolution_seconds", l.slaFields.Resolution},
	} {
		if len(f.raw) == 0 {
			continue // left out: keeps its value
		}
		secs, err := targetSeconds(f.field, f.raw)
		if err != nil {
			return err
		}
		upd[f.column] = secs
	}
	if l.slaFields.BusinessHours != nil {
		upd["business_hours"] = *l.slaFields.BusinessHours
	}
	if w := l.slaFields.Warning; w != nil {
		if *w < 1 || *w > 99 {
			return fmt.Errorf(`"warning" is a percentage of each target between 1 and 99, not %d`, *w)
		}
		upd["warning_percent"] = *w
	}
	var p models.SLAPolicy
	if err := tx.Where("workspace_id = ? AND lower(name) = lower(?)", st.ws.ID, name).Limit(1).Find(&p).Error; err != nil {
		return err
	}
	if p.ID == 0 {
		p = models.SLAPolicy{WorkspaceID: st.ws.ID, Name: name, WarningPercent: 80}
		if err := tx.Create(&p).Error; err != nil {
			return err
		}
	}
	if len(upd) == 0 {
		return nil
	}
	upd["updated_at"] = gorm.Expr("now()")
	return tx.Model(&models.SLAPolicy{}).Where("id = ?", p.ID).Updates(upd).Error
}

// targetSeconds reads one target: a duration such as "45m", "1h30m" or "2d", or null
// or "" for no target. Nil is no target.
func targetSeconds(field string, raw json.RawMessage) (*int, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf(`%q must be a duration such as "1h", "30m" or "2d", or null for no target`, field)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	d, err := parseDuration(s)
	if err != nil || d < time.Second {
		return nil, fmt.Errorf(`%q is %q: write a positive duration such as "1h", "30m" or "2d", or null for no target`, field, s)
	}
	if d > 366*24*time.Hour {
		return nil, fmt.Errorf(`%q is %q: a target can be at most a year`, field, s)
	}
	secs := int(d / time.Second)
	return &secs, nil
}

// parseDuration is time.ParseDuration with whole days ("2d", "1d12h").
func parseDuration(s string) (time.Duration, error) {
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 {
			return 0, errors.New("bad days")
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	return days + d, err
}

// teamSLAPolicy resolves a team line's "sla_policy": the policy's id, nil for null or
// "" (the team has no policy); set is false when the line leaves the field out.
func (st *run) teamSLAPolicy(tx *gorm.DB, raw json.RawMessage) (id *int64, set bool, err error) {
	if len(raw) == 0 {
		return nil, false, nil
	}
	if string(raw) == "null" {
		return nil, true, nil
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return nil, false, errors.New(`"sla_policy" must be the name of an SLA policy, or null for none`)
	}
	if name = strings.TrimSpace(name); name == "" {
		return nil, true, nil
	}
	var p models.SLAPolicy
	if err := tx.Where("workspace_id = ? AND lower(name) = lower(?)", st.ws.ID, name).Limit(1).Find(&p).Error; err != nil {
		return nil, false, err
	}
	if p.ID == 0 {
		return nil, false, fmt.Errorf("unknown SLA policy %q (add an sla_policy line before it)", name)
	}
	return &p.ID, true, nil
}

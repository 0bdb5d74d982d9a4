package sla

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/models"
)

// Policies is the CRUD of SLA policies (Configuración → SLA), audited. Changed runs
// after every change (the engine forgets the policies it remembers).
type Policies struct {
	DB      *gorm.DB
	Changed func()
}

// PolicyRow is a policy with the teams that use it.
type PolicyRow struct {
	models.SLAPolicy
	Teams []string
}

// Target is one target as a person types it: a number and a unit ("min" or "h");
// an empty number is no target.
type TargetInput struct {
	Value string
	Unit  string
}

// PolicyInput is the form of a policy.
type PolicyInput struct {
	Name                                    string
	FirstResponse, NextResponse, Resolution TargetInput
	BusinessHours                           bool
	WarningPercent                          string
}

// maxTarget bounds a target (a year).
const maxTarget = 365 * 24 * time.Hour

// ErrNoPolicy: the policy does not exist in the workspace.
var ErrNoPolicy = apperr.NotFound{Msg: "No existe esa política de SLA."}

func (in PolicyInput) parse() (models.SLAPolicy, error) {
	errs := apperr.Validation{}
	p := models.SLAPolicy{Name: strings.TrimSpace(in.Name), BusinessHours: in.BusinessHours, WarningPercent: 80}
	switch n := len([]rune(p.Name)); {
	case n == 0:
		errs["name"] = "Ponle un nombre a la política, por ejemplo «Ventas»"
	case n > 60:
		errs["name"] = "El nombre admite hasta 60 caracteres"
	}
	target := func(field, what string, t TargetInput) *int {
		v := strings.TrimSpace(strings.ReplaceAll(t.Value, ",", "."))
		if v == "" {
			return nil
		}
		f, err := strconv.ParseFloat(v, 64)
		unit := time.Minute
		if t.Unit == "h" {
			unit = time.Hour
		}
		d := time.Duration(f * float64(unit))
		if err != nil || f <= 0 || d < time.Minute || d > maxTarget {
			errs[field] = "El objetivo de " + what + " debe ser un número mayor que cero (hasta 365 días), o quedar vacío"
			return nil
		}
		s := int(d / time.Second)
		return &s
	}
	p.FirstResponseSeconds = target("first_response", "primera respuesta", in.FirstResponse)
	p.NextResponseSeconds = target("next_response", "siguiente respuesta", in.NextResponse)
	p.ResolutionSeconds = target("resolution", "resolución", in.Resolution)
	if len(errs) == 0 && p.FirstResponseSeconds == nil && p.NextResponseSeconds == nil && p.ResolutionSeconds == nil {
		errs["first_response"] = "Define al menos un objetivo: primera respuesta, siguiente respuesta o resolución"
	}
	if w := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(in.WarningPercent), "%")); w != "" {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 || n > 99 {
			errs["warning_percent"] = "El aviso es un porcentaje entre 1 y 99"
		} else {
			p.WarningPercent = n
		}
	}
	if len(errs) > 0 {
		return p, errs
	}
	return p, nil
}

// List returns the workspace's policies by name, each with the teams that use it.
func (s *Policies) List(ctx context.Context, ws int64) ([]PolicyRow, error) {
	var ps []models.SLAPolicy
	if err := s.DB.WithContext(ctx).Where("workspace_id = ?", ws).Order("lower(name), id").Find(&ps).Error; err != nil {
		return nil, err
	}
	var teams []struct {
		SLAPolicyID int64 `gorm:"column:sla_policy_id"`
		Name        string
	}
	if err := s.DB.WithContext(ctx).Raw(`SELECT sla_policy_id, name FROM teams WHERE workspace_id = ? AND sla_policy_id IS NOT NULL
		ORDER BY lower(name)`, ws).Scan(&teams).Error; err != nil {
		return nil, err
	}
	out := make([]PolicyRow, len(ps))
	for i, p := range ps {
		out[i].SLAPolicy = p
		for _, t := range teams {
			if t.SLAPolicyID == p.ID {
				out[i].Teams = append(out[i].Teams, t.Name)
			}
		}
	}
	return out, nil
}

// Get returns one policy of the workspace.
func (s *Policies) Get(ctx context.Context, ws, id int64) (models.SLAPolicy, error) {
	var p models.SLAPolicy
	err := s.DB.WithContext(ctx).Where("workspace_id = ? AND id = ?", ws, id).Limit(1).Find(&p).Error
	if err == nil && p.ID == 0 {
		err = ErrNoPolicy
	}
	return p, err
}

// Create adds a policy.
func (s *Policies) Create(ctx context.Context, ws int64, in PolicyInput) (models.SLAPolicy, error) {
	p, err := in.parse()
	if err != nil {
		return p, err
	}
	p.WorkspaceID = ws
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&p).Error; err != nil {
			return nameTaken(err)
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: ws, Action: audit.SLAPolicyCreate, TargetType: "sla_policy", TargetID: p.ID,
			After: snapshot(p)})
	})
	if err == nil {
		s.changed()
	}
	return p, err
}

// Update changes a policy. Running clocks keep their deadlines until their next event
// (a reply, a transfer…); cycles that open from now on use the new targets.
func (s *Policies) Update(ctx context.Context, ws, id int64, in PolicyInput) (models.SLAPolicy, error) {
	p, err := in.parse()
	if err != nil {
		return p, err
	}
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var old models.SLAPolicy
		if err := tx.Raw(`SELECT * FROM sla_policies WHERE workspace_id = ? AND id = ? FOR UPDATE`, ws, id).Scan(&old).Error; err != nil {
			return err
		}
		if old.ID == 0 {
			return ErrNoPolicy
		}
		p.ID, p.WorkspaceID, p.CreatedAt = old.ID, ws, old.CreatedAt
		if err := tx.Model(&p).Select("name", "first_response_seconds", "next_response_seconds", "resolution_seconds",
			"business_hours", "warning_percent", "updated_at").Updates(&p).Error; err != nil {
			return nameTaken(err)
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: ws, Action: audit.SLAPolicyUpdate, TargetType: "sla_policy", TargetID: p.ID,
			Before: snapshot(old), After: snapshot(p)})
	})
	if err == nil {
		s.changed()
	}
	return p, err
}

// Delete removes a policy: its teams are left without one, and their open
// conversations stop being measured (their clocks are cleared).
func (s *Policies) Delete(ctx context.Context, ws, id int64) (models.SLAPolicy, error) {
	var p models.SLAPolicy
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT * FROM sla_policies WHERE workspace_id = ? AND id = ? FOR UPDATE`, ws, id).Scan(&p).Error; err != nil {
			return err
		}
		if p.ID == 0 {
			return ErrNoPolicy
		}
		if err := tx.Exec(`UPDATE conversations SET first_response_due_at = NULL, next_response_due_at = NULL, resolution_due_at = NULL,
				first_response_warn_at = NULL, next_response_warn_at = NULL, resolution_warn_at = NULL, sla_notified = 0,
				sla_next_check_at = NULL, sla_state = ''
			WHERE workspace_id = ? AND status <> 'closed' AND team_id IN (SELECT id FROM teams WHERE sla_policy_id = ?)`, ws, id).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM sla_policies WHERE id = ?`, id).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: ws, Action: audit.SLAPolicyDelete, TargetType: "sla_policy", TargetID: p.ID,
			Before: snapshot(p)})
	})
	if err == nil {
		s.changed()
	}
	return p, err
}

func (s *Policies) changed() {
	if s.Changed != nil {
		s.Changed()
	}
}

func nameTaken(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return apperr.Validation{"name": "Ya existe una política con ese nombre"}
	}
	return err
}

// snapshot is what the audit log keeps of a policy.
func snapshot(p models.SLAPolicy) map[string]any {
	return map[string]any{"name": p.Name, "first_response_seconds": p.FirstResponseSeconds, "next_response_seconds": p.NextResponseSeconds,
		"resolution_seconds": p.ResolutionSeconds, "business_hours": p.BusinessHours, "warning_percent": p.WarningPercent}
}

// TargetFields splits a stored target for the form: a whole number of hours when it
// is one, else minutes.
func TargetFields(secs *int) TargetInput {
	if secs == nil {
		return TargetInput{Unit: "min"}
	}
	if *secs%3600 == 0 {
		return TargetInput{Value: strconv.Itoa(*secs / 3600), Unit: "h"}
	}
	return TargetInput{Value: strconv.Itoa((*secs + 59) / 60), Unit: "min"}
}

package accounts

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/models"
)

// TeamInput is what creating or editing a team takes.
type TeamInput struct {
	Name        string
	Color       string
	RoutingMode string
	// Routing, when set, is the team's routing settings (the settings screen); nil
	// keeps them as they are (a new team gets the defaults).
	Routing *TeamRouting
}

// TeamRouting are a team's routing settings besides its strategy.
type TeamRouting struct {
	Sticky                 bool
	OfflineGraceMinutes    int
	UnansweredLimitMinutes int // 0: no limit
	CalendarID             *int64
	SLAPolicyID            *int64
	AwayMessage            string
}

// MaxAwayMessage is the longest away message (a WhatsApp text).
const MaxAwayMessage = 1000

func (r *TeamRouting) validate(tx *gorm.DB, wsID int64, v apperr.Validation) {
	if r.OfflineGraceMinutes < 0 || r.OfflineGraceMinutes > 24*60 {
		v.Add("offline_grace", "La espera va de 0 a 1440 minutos (24 h)")
	}
	if r.UnansweredLimitMinutes < 0 || r.UnansweredLimitMinutes > 7*24*60 {
		v.Add("unanswered_limit", "El límite va de 1 minuto a 7 días; déjalo vacío para no usarlo")
	}
	r.AwayMessage = strings.TrimSpace(r.AwayMessage)
	if len([]rune(r.AwayMessage)) > MaxAwayMessage {
		v.Add("away_message", "El mensaje puede tener hasta 1000 caracteres")
	}
	check := func(table, field, msg string, id *int64) {
		if id == nil {
			return
		}
		var n int64
		tx.Table(table).Where("workspace_id = ? AND id = ?", wsID, *id).Count(&n)
		if n == 0 {
			v.Add(field, msg)
		}
	}
	check("calendars", "calendar_id", "Ese horario no existe: elige uno de la lista", r.CalendarID)
	check("sla_policies", "sla_policy_id", "Esa política de SLA no existe: elige una de la lista", r.SLAPolicyID)
}

func (r *TeamRouting) apply(t *models.Team) {
	t.Sticky = r.Sticky
	t.OfflineGraceSeconds = r.OfflineGraceMinutes * 60
	t.UnansweredLimitSeconds = nil
	if r.UnansweredLimitMinutes > 0 {
		n := r.UnansweredLimitMinutes * 60
		t.UnansweredLimitSeconds = &n
	}
	t.CalendarID, t.SLAPolicyID, t.AwayMessage = r.CalendarID, r.SLAPolicyID, r.AwayMessage
}

// teamFacts is what the audit log keeps of a team.
func teamFacts(t models.Team) map[string]any {
	return map[string]any{"name": t.Name, "color": t.Color, "routing_mode": t.RoutingMode, "sticky": t.Sticky,
		"offline_grace_seconds": t.OfflineGraceSeconds, "unanswered_limit_seconds": t.UnansweredLimitSeconds,
		"calendar_id": t.CalendarID, "sla_policy_id": t.SLAPolicyID, "away_message": t.AwayMessage}
}

var colorRe = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (in *TeamInput) validate() apperr.Validation {
	in.Name = strings.TrimSpace(in.Name)
	in.Color = strings.TrimSpace(in.Color)
	v := apperr.Validation{}
	if in.Name == "" {
		v.Add("name", "Escribe el nombre del equipo")
	} else if len([]rune(in.Name)) > 60 {
		v.Add("name", "El nombre del equipo puede tener hasta 60 caracteres")
	}
	if in.Color == "" {
		in.Color = "#2563eb"
	}
	if !colorRe.MatchString(in.Color) {
		v.Add("color", "El color debe tener la forma #1a2b3c")
	}
	switch in.RoutingMode {
	case "":
		in.RoutingMode = "manual"
	case "manual", "round_robin", "least_busy":
	default:
		v.Add("routing_mode", "Elige cómo se asignan las conversaciones")
	}
	return v
}

// TeamRow is a team with its member count, for lists.
type TeamRow struct {
	models.Team
	Members int
}

// ListTeams returns the workspace's teams by name with member counts.
func (s *Service) ListTeams(ctx context.Context, wsID int64) ([]TeamRow, error) {
	var rows []TeamRow
	err := s.DB.WithContext(ctx).Raw(`
		SELECT t.*, (SELECT count(*) FROM team_members m JOIN users u ON u.id = m.user_id AND u.active WHERE m.team_id = t.id) AS members
		FROM teams t WHERE t.workspace_id = ? ORDER BY lower(t.name)`, wsID).Scan(&rows).Error
	return rows, err
}

// GetTeam returns one team of the workspace.
func (s *Service) GetTeam(ctx context.Context, wsID, id int64) (models.Team, error) {
	var t models.Team
	err := s.DB.WithContext(ctx).Where("workspace_id = ? AND id = ?", wsID, id).First(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return t, apperr.ErrNotFound
	}
	return t, err
}

// TeamByName returns the workspace's team with that name (case-insensitive).
func (s *Service) TeamByName(ctx context.Context, wsID int64, name string) (models.Team, error) {
	var t models.Team
	err := s.DB.WithContext(ctx).Where("workspace_id = ? AND lower(name) = lower(?)", wsID, strings.TrimSpace(name)).First(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return t, apperr.ErrNotFound
	}
	return t, err
}

// CreateTeam adds a team.
func (s *Service) CreateTeam(ctx context.Context, wsID int64, in TeamInput) (models.Team, error) {
	if v := in.validate(); len(v) > 0 {
		return models.Team{}, v
	}
	t := models.Team{WorkspaceID: wsID, Name: in.Name, Color: in.Color, RoutingMode: in.RoutingMode, Sticky: true, OfflineGraceSeconds: 600}
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if in.Routing != nil {
			v := apperr.Validation{}
			if in.Routing.validate(tx, wsID, v); len(v) > 0 {
				return v
			}
			in.Routing.apply(&t)
		}
		// Sticky and the grace period are written even when false or 0 (not left to the column defaults).
		if err := tx.Select("*").Omit("id").Create(&t).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.TeamCreate, TargetType: "team", TargetID: t.ID,
			After: teamFacts(t)})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return t, apperr.Validation{"name": "Ya existe un equipo con ese nombre"}
	}
	return t, err
}

// UpdateTeam edits a team.
func (s *Service) UpdateTeam(ctx context.Context, wsID, id int64, in TeamInput) (models.Team, error) {
	if v := in.validate(); len(v) > 0 {
		return models.Team{}, v
	}
	t, err := s.GetTeam(ctx, wsID, id)
	if err != nil {
		return t, err
	}
	before := teamFacts(t)
	t.Name, t.Color, t.RoutingMode = in.Name, in.Color, in.RoutingMode
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if in.Routing != nil {
			v := apperr.Validation{}
			if in.Routing.validate(tx, wsID, v); len(v) > 0 {
				return v
			}
			in.Routing.apply(&t)
		}
		if err := tx.Save(&t).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.TeamUpdate, TargetType: "team", TargetID: t.ID,
			Before: before, After: teamFacts(t)})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return t, apperr.Validation{"name": "Ya existe un equipo con ese nombre"}
	}
	return t, err
}

// EnsureTeam returns the team called name, creating it if missing (demo and import).
func (s *Service) EnsureTeam(ctx context.Context, wsID int64, name, color string) (models.Team, error) {
	t, err := s.TeamByName(ctx, wsID, name)
	if err == nil || !errors.Is(err, apperr.ErrNotFound) {
		return t, err
	}
	return s.CreateTeam(ctx, wsID, TeamInput{Name: name, Color: color})
}

// UserRow is a user with the names of their teams, for lists.
type UserRow struct {
	models.User
	TeamNames string
	TeamIDs   []int64 `gorm:"-"`
}

// ListUsers returns the workspace's users by name with their teams.
func (s *Service) ListUsers(ctx context.Context, wsID int64) ([]UserRow, error) {
	var rows []UserRow
	db := s.DB.WithContext(ctx)
	err := db.Raw(`
		SELECT u.*, coalesce((SELECT string_agg(t.name, ', ' ORDER BY lower(t.name)) FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = u.id), '') AS team_names
		FROM users u WHERE u.workspace_id = ? ORDER BY u.active DESC, lower(u.name)`, wsID).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	var members []models.TeamMember
	if err := db.Where("workspace_id = ?", wsID).Find(&members).Error; err != nil {
		return nil, err
	}
	idx := map[int64]int{}
	for i := range rows {
		idx[rows[i].ID] = i
	}
	for _, m := range members {
		if i, ok := idx[m.UserID]; ok {
			rows[i].TeamIDs = append(rows[i].TeamIDs, m.TeamID)
		}
	}
	return rows, nil
}

// GetUser returns one user of the workspace with team ids.
func (s *Service) GetUser(ctx context.Context, wsID, id int64) (UserRow, error) {
	rows, err := s.ListUsers(ctx, wsID)
	if err != nil {
		return UserRow{}, err
	}
	for _, r := range rows {
		if r.ID == id {
			return r, nil
		}
	}
	return UserRow{}, apperr.ErrNotFound
}

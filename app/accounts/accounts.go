// Package accounts manages workspaces, users, teams, sign-in and API tokens.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/models"
)

// Service is the accounts domain service.
type Service struct {
	DB    *gorm.DB
	Clock clock.Clock
	// BcryptCost hashes new passwords (default 11; tests lower it: hashing under the
	// race detector costs seconds).
	BcryptCost int

	dummyOnce sync.Once
	dummy     []byte
}

func (s *Service) cost() int {
	if s.BcryptCost == 0 {
		return bcryptCost
	}
	return s.BcryptCost
}

// New returns a Service.
func New(db *gorm.DB, c clock.Clock) *Service { return &Service{DB: db, Clock: c} }

// Login throttling: this many failures in this window blocks further attempts.
const (
	MaxFailures    = 10
	FailureWindow  = 15 * time.Minute
	bcryptCost     = 11
	minPasswordLen = 8
)

var (
	// ErrInvalidCredentials: wrong email or password (never says which).
	ErrInvalidCredentials = errors.New("correo o contraseña incorrectos")
	// ErrThrottled: too many failed attempts lately.
	ErrThrottled = errors.New("demasiados intentos fallidos")
)

// Viewer is the signed-in user with what visibility rules need.
type Viewer struct {
	User      models.User
	Workspace models.Workspace
	TeamIDs   []int64
}

// IsAdmin reports an admin.
func (v Viewer) IsAdmin() bool { return v.User.Role == models.RoleAdmin }

// IsSupervisor reports a supervisor.
func (v Viewer) IsSupervisor() bool { return v.User.Role == models.RoleSupervisor }

// InTeam reports whether the viewer belongs to team id.
func (v Viewer) InTeam(id int64) bool {
	for _, t := range v.TeamIDs {
		if t == id {
			return true
		}
	}
	return false
}

// EnsureWorkspace returns the workspace called name, creating it with tz if missing.
func (s *Service) EnsureWorkspace(ctx context.Context, name, tz string) (models.Workspace, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return models.Workspace{}, apperr.Validation{"name": "El espacio de trabajo necesita un nombre"}
	}
	if tz == "" {
		tz = "America/Lima"
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return models.Workspace{}, apperr.Validation{"timezone": fmt.Sprintf("Zona horaria desconocida: %q", tz)}
	}
	var w models.Workspace
	err := s.DB.WithContext(ctx).Raw(`
		INSERT INTO workspaces (name, timezone) VALUES (?, ?)
		ON CONFLICT ((lower(name))) DO UPDATE SET timezone = EXCLUDED.timezone
		RETURNING *`, name, tz).Scan(&w).Error
	return w, err
}

// ResolveWorkspace finds the workspace a command acts on: the one named, or the only one.
func (s *Service) ResolveWorkspace(ctx context.Context, name string) (models.Workspace, error) {
	var all []models.Workspace
	if err := s.DB.WithContext(ctx).Order("name").Find(&all).Error; err != nil {
		return models.Workspace{}, err
	}
	if name != "" {
		for _, w := range all {
			if strings.EqualFold(w.Name, name) {
				return w, nil
			}
		}
		return models.Workspace{}, fmt.Errorf("no workspace is called %q (existing: %s)", name, names(all))
	}
	switch len(all) {
	case 0:
		return models.Workspace{}, errors.New("there is no workspace yet: run `atiende demo`, or `atiende user add` to create the first one")
	case 1:
		return all[0], nil
	}
	return models.Workspace{}, fmt.Errorf("there are several workspaces; choose one with --workspace NAME (existing: %s)", names(all))
}

func names(ws []models.Workspace) string {
	n := make([]string, len(ws))
	for i, w := range ws {
		n[i] = w.Name
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

// UserInput is what creating or editing a user takes.
type UserInput struct {
	Email         string
	Name          string
	Role          string
	Password      string // required on create; on edit, empty keeps the current one
	MaxConcurrent int
	TeamIDs       []int64
	Active        bool
}

func (in *UserInput) normalize() {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Name = strings.TrimSpace(in.Name)
	in.Role = strings.TrimSpace(in.Role)
}

func (in UserInput) validate(creating bool) apperr.Validation {
	v := apperr.Validation{}
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email {
		v.Add("email", "Escribe un correo válido, por ejemplo ana@empresa.com")
	}
	if in.Name == "" {
		v.Add("name", "Escribe el nombre de la persona")
	}
	switch in.Role {
	case models.RoleAdmin, models.RoleSupervisor, models.RoleAgent:
	default:
		v.Add("role", "Elige un rol: administrador, supervisor o agente")
	}
	if creating || in.Password != "" {
		if len([]rune(in.Password)) < minPasswordLen {
			v.Add("password", fmt.Sprintf("La contraseña debe tener al menos %d caracteres", minPasswordLen))
		}
	}
	if in.MaxConcurrent < 0 || in.MaxConcurrent > 500 {
		v.Add("max_concurrent", "La capacidad debe ser un número entero entre 0 y 500 conversaciones")
	}
	return v
}

// CreateUser adds a user to workspace wsID.
func (s *Service) CreateUser(ctx context.Context, wsID int64, in UserInput) (models.User, error) {
	in.normalize()
	if v := in.validate(true); len(v) > 0 {
		return models.User{}, v
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.cost())
	if err != nil {
		return models.User{}, err
	}
	u := models.User{WorkspaceID: wsID, Email: in.Email, Name: in.Name, Role: in.Role,
		PasswordHash: string(hash), Active: true, MaxConcurrent: in.MaxConcurrent, Presence: models.PresenceOffline}
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&u).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return apperr.Validation{"email": "Ya existe un usuario con ese correo"}
			}
			return err
		}
		return setTeams(tx, wsID, u.ID, in.TeamIDs)
	})
	return u, err
}

// UpdateUser edits a user of workspace wsID.
func (s *Service) UpdateUser(ctx context.Context, wsID, userID int64, in UserInput) (models.User, error) {
	in.normalize()
	if v := in.validate(false); len(v) > 0 {
		return models.User{}, v
	}
	var u models.User
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("workspace_id = ? AND id = ?", wsID, userID).First(&u).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return apperr.ErrNotFound
			}
			return err
		}
		if u.Role == models.RoleAdmin && (in.Role != models.RoleAdmin || !in.Active) {
			if err := ensureAnotherAdmin(tx, wsID, u.ID); err != nil {
				return err
			}
		}
		u.Email, u.Name, u.Role, u.MaxConcurrent, u.Active = in.Email, in.Name, in.Role, in.MaxConcurrent, in.Active
		if in.Password != "" {
			hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.cost())
			if err != nil {
				return err
			}
			u.PasswordHash = string(hash)
		}
		if !u.Active {
			u.Presence = models.PresenceOffline
		}
		u.UpdatedAt = s.Clock.Now()
		if err := tx.Save(&u).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return apperr.Validation{"email": "Ya existe un usuario con ese correo"}
			}
			return err
		}
		if !u.Active {
			// A deactivated user can no longer act: drop their sessions' access by
			// deleting API tokens; web sessions are checked on every request.
			if err := tx.Where("user_id = ?", u.ID).Delete(&models.APIToken{}).Error; err != nil {
				return err
			}
		}
		return setTeams(tx, wsID, u.ID, in.TeamIDs)
	})
	return u, err
}

func ensureAnotherAdmin(tx *gorm.DB, wsID, exceptID int64) error {
	var n int64
	if err := tx.Model(&models.User{}).Where("workspace_id = ? AND role = 'admin' AND active AND id <> ?", wsID, exceptID).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return apperr.Validation{"role": "Debe quedar al menos un administrador activo en el espacio de trabajo"}
	}
	return nil
}

func setTeams(tx *gorm.DB, wsID, userID int64, teamIDs []int64) error {
	if teamIDs == nil {
		return nil
	}
	if len(teamIDs) > 0 {
		var n int64
		if err := tx.Model(&models.Team{}).Where("workspace_id = ? AND id IN ?", wsID, teamIDs).Count(&n).Error; err != nil {
			return err
		}
		if int(n) != len(dedupe(teamIDs)) {
			return apperr.Validation{"teams": "Alguno de los equipos elegidos no existe"}
		}
	}
	if err := tx.Where("user_id = ? AND workspace_id = ?", userID, wsID).Delete(&models.TeamMember{}).Error; err != nil {
		return err
	}
	for _, id := range dedupe(teamIDs) {
		if err := tx.Create(&models.TeamMember{WorkspaceID: wsID, TeamID: id, UserID: userID}).Error; err != nil {
			return err
		}
	}
	return nil
}

func dedupe(ids []int64) []int64 {
	seen := map[int64]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Authenticate checks email and password. It records the attempt and refuses with
// ErrThrottled after MaxFailures failures in FailureWindow for the email or the IP.
func (s *Service) Authenticate(ctx context.Context, email, password, ip string) (models.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	db := s.DB.WithContext(ctx)
	since := s.Clock.Now().Add(-FailureWindow)
	var failures struct{ ByEmail, ByIP int64 }
	if err := db.Raw(`SELECT
			count(*) FILTER (WHERE lower(email) = ?) AS by_email,
			count(*) FILTER (WHERE ip = ?) AS by_ip
		FROM login_attempts WHERE NOT succeeded AND created_at > ? AND (lower(email) = ? OR ip = ?)`,
		email, ip, since, email, ip).Scan(&failures).Error; err != nil {
		return models.User{}, err
	}
	if failures.ByEmail >= MaxFailures || failures.ByIP >= MaxFailures {
		return models.User{}, ErrThrottled
	}
	var candidates []models.User
	if err := db.Where("lower(email) = ? AND active", email).Order("id").Find(&candidates).Error; err != nil {
		return models.User{}, err
	}
	var found *models.User
	for i := range candidates {
		if bcrypt.CompareHashAndPassword([]byte(candidates[i].PasswordHash), []byte(password)) == nil {
			found = &candidates[i]
			break
		}
	}
	if found == nil && len(candidates) == 0 {
		// Spend the same time as a real comparison so timing does not reveal the email exists.
		s.dummyOnce.Do(func() { s.dummy, _ = bcrypt.GenerateFromPassword([]byte("not-a-password"), s.cost()) })
		_ = bcrypt.CompareHashAndPassword(s.dummy, []byte(password))
	}
	attempt := map[string]any{"email": email, "ip": ip, "succeeded": found != nil, "created_at": s.Clock.Now()}
	if err := db.Table("login_attempts").Create(attempt).Error; err != nil {
		return models.User{}, err
	}
	if found == nil {
		return models.User{}, ErrInvalidCredentials
	}
	return *found, nil
}

// LoadViewer loads an active user with their workspace and teams, in two queries (it
// runs on every request after the workspace changed: on a busy workspace, most).
func (s *Service) LoadViewer(ctx context.Context, userID int64) (Viewer, error) {
	var v Viewer
	var row struct {
		models.User
		ViewerTeams string
	}
	db := s.DB.WithContext(ctx)
	err := db.Raw(`SELECT u.*, COALESCE((SELECT string_agg(m.team_id::text, ',' ORDER BY m.team_id)
			FROM team_members m WHERE m.user_id = u.id), '') AS viewer_teams
		FROM users u WHERE u.id = ? AND u.active`, userID).Scan(&row).Error
	if err != nil {
		return v, err
	}
	if row.ID == 0 {
		return v, apperr.ErrNotFound
	}
	v.User = row.User
	if row.ViewerTeams != "" {
		for _, f := range strings.Split(row.ViewerTeams, ",") {
			id, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return v, fmt.Errorf("viewer %d: team id %q: %w", userID, f, err)
			}
			v.TeamIDs = append(v.TeamIDs, id)
		}
	}
	if err := db.First(&v.Workspace, v.User.WorkspaceID).Error; err != nil {
		return v, err
	}
	return v, nil
}

// FindUserByEmail returns the workspace's user with that email.
func (s *Service) FindUserByEmail(ctx context.Context, wsID int64, email string) (models.User, error) {
	var u models.User
	err := s.DB.WithContext(ctx).Where("workspace_id = ? AND lower(email) = lower(?)", wsID, strings.TrimSpace(email)).First(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, apperr.ErrNotFound
	}
	return u, err
}

// CreateAPIToken issues a new API token for the user and returns it in clear (the only time).
func (s *Service) CreateAPIToken(ctx context.Context, u models.User, name string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := "atk_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	t := models.APIToken{WorkspaceID: u.WorkspaceID, UserID: u.ID, Name: strings.TrimSpace(name), TokenHash: sum[:], TokenPrefix: token[:10]}
	if err := s.DB.WithContext(ctx).Create(&t).Error; err != nil {
		return "", err
	}
	return token, nil
}

// UserForToken resolves a Bearer token to its active user.
func (s *Service) UserForToken(ctx context.Context, token string) (int64, error) {
	sum := sha256.Sum256([]byte(token))
	var t models.APIToken
	err := s.DB.WithContext(ctx).Where("token_hash = ?", sum[:]).First(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, apperr.ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	s.DB.WithContext(ctx).Model(&t).Update("last_used_at", s.Clock.Now())
	return t.UserID, nil
}

// Audit records an audit event; failures are returned, not hidden.
func (s *Service) Audit(ctx context.Context, wsID int64, userID *int64, action, targetType string, targetID *int64, ip string) error {
	return s.DB.WithContext(ctx).Create(&models.AuditEvent{WorkspaceID: wsID, UserID: userID, Action: action,
		TargetType: targetType, TargetID: targetID, Data: models.JSON("{}"), IP: ip, CreatedAt: s.Clock.Now()}).Error
}

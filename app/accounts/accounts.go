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
	"gorm.io/gorm/clause"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/models"
)

// Service is the accounts domain service.
type Service struct {
	DB    *gorm.DB
	Clock clock.Clock
	// BcryptCost hashes new passwords (default 11; tests lower it: hashing under the
	// race detector costs seconds).
	BcryptCost int
	// Box seals two-factor secrets (the same key as channel secrets).
	Box *secrets.Box

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
	MaxFailures   = 10 // per account (email), from any address
	FailureWindow = 15 * time.Minute
	// MaxFailuresPerIP: per client address, across accounts.
	MaxFailuresPerIP = 50
	bcryptCost       = 11
	minPasswordLen   = 8
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
	// ScheduleCalendarID is the agent's working schedule (nil: always inside it).
	ScheduleCalendarID *int64
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
		PasswordHash: string(hash), Active: true, MaxConcurrent: in.MaxConcurrent, Presence: models.PresenceOffline,
		ScheduleCalendarID: in.ScheduleCalendarID}
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := checkCalendar(tx, wsID, in.ScheduleCalendarID); err != nil {
			return err
		}
		if err := tx.Create(&u).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return apperr.Validation{"email": "Ya existe un usuario con ese correo"}
			}
			return err
		}
		if err := setTeams(tx, wsID, u.ID, in.TeamIDs); err != nil {
			return err
		}
		teams, err := teamNames(tx, wsID, u.ID)
		if err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.UserCreate, TargetType: "user", TargetID: u.ID,
			After: userFacts(u, teams)})
	})
	return u, err
}

// userFacts is what the audit log keeps of a user before and after a change.
func userFacts(u models.User, teams []string) map[string]any {
	return map[string]any{"name": u.Name, "email": u.Email, "role": u.Role, "max_concurrent": u.MaxConcurrent, "teams": teams,
		"schedule_calendar_id": u.ScheduleCalendarID}
}

// checkCalendar refuses a calendar that is not the workspace's.
func checkCalendar(tx *gorm.DB, wsID int64, id *int64) error {
	if id == nil {
		return nil
	}
	var n int64
	if err := tx.Model(&models.Calendar{}).Where("workspace_id = ? AND id = ?", wsID, *id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return apperr.Validation{"schedule_calendar_id": "Ese horario no existe: elige uno de la lista"}
	}
	return nil
}

func teamNames(tx *gorm.DB, wsID, userID int64) ([]string, error) {
	names := []string{}
	err := tx.Raw(`SELECT t.name FROM team_members m JOIN teams t ON t.id = m.team_id
		WHERE m.workspace_id = ? AND m.user_id = ? ORDER BY lower(t.name)`, wsID, userID).Scan(&names).Error
	return names, err
}

// UpdateUser edits a user of workspace wsID. A new password ends every session the
// user had (their session epoch moves on) and revokes their API tokens: the usual
// recovery from a stolen account. Everything that changed is audited in the same
// transaction.
func (s *Service) UpdateUser(ctx context.Context, wsID, userID int64, in UserInput) (models.User, error) {
	in.normalize()
	if v := in.validate(false); len(v) > 0 {
		return models.User{}, v
	}
	var u models.User
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("workspace_id = ? AND id = ?", wsID, userID).First(&u).Error; err != nil {
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
		teamsBefore, err := teamNames(tx, wsID, u.ID)
		if err != nil {
			return err
		}
		before, wasActive := userFacts(u, teamsBefore), u.Active
		if err := checkCalendar(tx, wsID, in.ScheduleCalendarID); err != nil {
			return err
		}
		u.Email, u.Name, u.Role, u.MaxConcurrent, u.Active = in.Email, in.Name, in.Role, in.MaxConcurrent, in.Active
		u.ScheduleCalendarID = in.ScheduleCalendarID
		if in.Password != "" {
			hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.cost())
			if err != nil {
				return err
			}
			u.PasswordHash = string(hash)
			u.SessionEpoch++
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
		var revoked int64
		if !u.Active || in.Password != "" {
			// A deactivated user, or one whose password was reset, can no longer use
			// the API; web sessions are checked on every request.
			res := tx.Where("user_id = ? AND workspace_id = ?", u.ID, wsID).Delete(&models.APIToken{})
			if res.Error != nil {
				return res.Error
			}
			revoked = res.RowsAffected
		}
		if err := setTeams(tx, wsID, u.ID, in.TeamIDs); err != nil {
			return err
		}
		teamsAfter, err := teamNames(tx, wsID, u.ID)
		if err != nil {
			return err
		}
		if b, a := audit.Changes(before, userFacts(u, teamsAfter)); len(a) > 0 || len(b) > 0 {
			if err := audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.UserUpdate, TargetType: "user", TargetID: u.ID, Before: b, After: a}); err != nil {
				return err
			}
		}
		switch {
		case wasActive && !u.Active:
			err = audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.UserDeactivate, TargetType: "user", TargetID: u.ID,
				Before: map[string]any{"active": true}, After: map[string]any{"active": false}, Data: map[string]any{"tokens_revoked": revoked}})
		case !wasActive && u.Active:
			err = audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.UserReactivate, TargetType: "user", TargetID: u.ID,
				Before: map[string]any{"active": false}, After: map[string]any{"active": true}})
		}
		if err != nil {
			return err
		}
		if in.Password != "" {
			return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.PasswordReset, TargetType: "user", TargetID: u.ID,
				Data: map[string]any{"tokens_revoked": revoked, "sessions_ended": true}})
		}
		return nil
	})
	return u, err
}

// ChangeOwnPassword sets the user's password after checking the current one. Every
// other session of the user ends and their API tokens are revoked; the caller keeps
// its own session by storing the returned user's SessionEpoch in it.
func (s *Service) ChangeOwnPassword(ctx context.Context, wsID, userID int64, current, next string) (models.User, error) {
	var u models.User
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("workspace_id = ? AND id = ? AND active", wsID, userID).First(&u).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return apperr.ErrNotFound
			}
			return err
		}
		v := apperr.Validation{}
		if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(current)) != nil {
			v.Add("current_password", "La contraseña actual no es correcta")
		}
		if len([]rune(next)) < minPasswordLen {
			v.Add("new_password", fmt.Sprintf("La contraseña nueva debe tener al menos %d caracteres", minPasswordLen))
		} else if next == current {
			v.Add("new_password", "La contraseña nueva debe ser distinta de la actual")
		}
		if len(v) > 0 {
			return v
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(next), s.cost())
		if err != nil {
			return err
		}
		u.PasswordHash, u.UpdatedAt = string(hash), s.Clock.Now()
		u.SessionEpoch++
		if err := tx.Model(&u).Select("password_hash", "session_epoch", "updated_at").Updates(&u).Error; err != nil {
			return err
		}
		res := tx.Where("user_id = ? AND workspace_id = ?", u.ID, wsID).Delete(&models.APIToken{})
		if res.Error != nil {
			return res.Error
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: wsID, Action: audit.PasswordChange, TargetType: "user", TargetID: u.ID,
			Data: map[string]any{"tokens_revoked": res.RowsAffected, "other_sessions_ended": true}})
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

// Authenticate checks email and password. It refuses with ErrThrottled after
// MaxFailures failures in FailureWindow for the email (from any address) or
// MaxFailuresPerIP for the address (across emails). The decision is taken in
// PostgreSQL before the password is compared (see reserveAttempt), so parallel
// attempts cannot overrun it. A wrong password is audited in the workspace of
// every active user with that email.
func (s *Service) Authenticate(ctx context.Context, email, password, ip string) (models.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	db := s.DB.WithContext(ctx)
	attempt, err := s.reserveAttempt(ctx, email, ip, "password")
	if err != nil {
		return models.User{}, err
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
	if found == nil {
		for _, c := range candidates {
			if err := audit.Record(db, audit.Entry{WorkspaceID: c.WorkspaceID, Action: audit.LoginFailure, TargetType: "user", TargetID: c.ID,
				IP: ip, Data: map[string]any{"email": email, "reason": "wrong_password"}}); err != nil {
				return models.User{}, err
			}
		}
		return models.User{}, ErrInvalidCredentials
	}
	if err := s.settleAttempt(ctx, attempt); err != nil {
		return models.User{}, err
	}
	return *found, nil
}

// SignedIn records a completed sign-in (secondFactor: "", "totp" or "recovery").
func (s *Service) SignedIn(ctx context.Context, u models.User, secondFactor, ip string) error {
	data := map[string]any{}
	if secondFactor != "" {
		data["second_factor"] = secondFactor
	}
	return audit.Record(s.DB.WithContext(ctx), audit.Entry{WorkspaceID: u.WorkspaceID, Action: audit.LoginSuccess,
		TargetType: "user", TargetID: u.ID, ActorID: u.ID, IP: ip, Data: data})
}

// SignedOut records a sign-out.
func (s *Service) SignedOut(ctx context.Context, u models.User, ip string) error {
	return audit.Record(s.DB.WithContext(ctx), audit.Entry{WorkspaceID: u.WorkspaceID, Action: audit.Logout,
		TargetType: "user", TargetID: u.ID, ActorID: u.ID, IP: ip})
}

// reserveAttempt decides, under PostgreSQL advisory locks on the account and the
// address, whether one more attempt may be evaluated, and if so records it as a
// failure before it is evaluated; settleAttempt turns it into a success. Concurrent
// attempts therefore see each other: of 100 parallel wrong passwords, exactly
// MaxFailures are evaluated and the rest are throttled.
func (s *Service) reserveAttempt(ctx context.Context, email, ip, kind string) (int64, error) {
	var id int64
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Always the account first, then the address: no two attempts wait on each other crosswise.
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, "login:account:"+email).Error; err != nil {
			return err
		}
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, "login:ip:"+ip).Error; err != nil {
			return err
		}
		var failures struct{ ByEmail, ByIP int64 }
		if err := tx.Raw(`SELECT
				count(*) FILTER (WHERE lower(email) = ?) AS by_email,
				count(*) FILTER (WHERE ip = ?) AS by_ip
			FROM login_attempts WHERE NOT succeeded AND created_at > ? AND (lower(email) = ? OR ip = ?)`,
			email, ip, s.Clock.Now().Add(-FailureWindow), email, ip).Scan(&failures).Error; err != nil {
			return err
		}
		if failures.ByEmail >= MaxFailures || failures.ByIP >= MaxFailuresPerIP {
			return ErrThrottled
		}
		return tx.Raw(`INSERT INTO login_attempts (email, ip, succeeded, kind, created_at) VALUES (?, ?, false, ?, ?) RETURNING id`,
			email, ip, kind, s.Clock.Now()).Scan(&id).Error
	})
	return id, err
}

func (s *Service) settleAttempt(ctx context.Context, id int64) error {
	return s.DB.WithContext(ctx).Exec(`UPDATE login_attempts SET succeeded = true WHERE id = ?`, id).Error
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
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&t).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{WorkspaceID: u.WorkspaceID, Action: audit.TokenCreate, TargetType: "api_token", TargetID: t.ID,
			After: map[string]any{"name": t.Name, "prefix": t.TokenPrefix, "user_id": u.ID}})
	})
	if err != nil {
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

// Audit records an audit event; failures are returned, not hidden. Prefer
// audit.Record inside the transaction of the change.
func (s *Service) Audit(ctx context.Context, wsID int64, userID *int64, action, targetType string, targetID *int64, ip string) error {
	e := audit.Entry{WorkspaceID: wsID, Action: action, TargetType: targetType, IP: ip}
	if userID != nil {
		e.ActorID = *userID
	}
	if targetID != nil {
		e.TargetID = *targetID
	}
	return audit.Record(s.DB.WithContext(ctx), e)
}

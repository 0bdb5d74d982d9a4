// Package models holds the GORM structs that mirror the tables in migrations/.
// They carry no HTTP types and no behaviour beyond small helpers.
package models

import (
	"time"
)

// Roles.
const (
	RoleAdmin      = "admin"
	RoleSupervisor = "supervisor"
	RoleAgent      = "agent"
)

// Presence values.
const (
	PresenceOnline  = "online"
	PresenceBusy    = "busy"
	PresenceOffline = "offline"
)

// Workspace is one company using Atiende.
type Workspace struct {
	ID        int64
	Name      string
	Timezone  string
	CreatedAt time.Time
	// RequireTwoFactor sends every user without two-factor sign-in to enrol.
	RequireTwoFactor bool
}

// Location returns the workspace's time zone (UTC when it cannot be loaded).
func (w Workspace) Location() *time.Location {
	if loc, err := time.LoadLocation(w.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// User is a person who signs in: admin, supervisor or agent.
type User struct {
	ID            int64
	WorkspaceID   int64
	Email         string
	Name          string
	PasswordHash  string `json:"-"`
	Role          string
	Active        bool
	MaxConcurrent int
	Presence      string
	LastSeenAt    *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// SessionEpoch moves on when the password changes: older sessions end.
	SessionEpoch     int64
	TwoFactorEnabled bool
	// AvatarColor is the background of the user's initials ("" is the default).
	AvatarColor string
	// Browser notifications the user wants (Mi perfil).
	NotifyAssigned bool `gorm:"default:true"`
	NotifyMentions bool `gorm:"default:true"`
	NotifyTasks    bool `gorm:"default:true"`
}

// Team groups agents; conversations are routed to teams.
type Team struct {
	ID          int64
	WorkspaceID int64
	Name        string
	Color       string
	RoutingMode string
	CalendarID  *int64
	SLAPolicyID *int64 `gorm:"column:sla_policy_id"`
	CreatedAt   time.Time
}

// Calendar is a business calendar: opening hours by weekday ({"mon": [["09:00","13:00"], …]})
// and holidays (["2026-07-28", …]) in a time zone.
type Calendar struct {
	ID          int64
	WorkspaceID int64
	Name        string
	Timezone    string
	Hours       JSON
	Holidays    JSON
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TeamMember links a user to a team.
type TeamMember struct {
	WorkspaceID int64
	TeamID      int64 `gorm:"primaryKey"`
	UserID      int64 `gorm:"primaryKey"`
	CreatedAt   time.Time
}

// AuditEvent records who did what, for admins.
type AuditEvent struct {
	ID          int64
	WorkspaceID int64
	UserID      *int64
	Action      string
	TargetType  string
	TargetID    *int64
	Data        JSON
	IP          string `gorm:"column:ip"`
	Source      string // web, api, cli, job
	CreatedAt   time.Time
}

// APIToken authorises JSON API calls as its user; only a hash of the token is kept.
type APIToken struct {
	ID          int64
	WorkspaceID int64
	UserID      int64
	Name        string
	TokenHash   []byte
	TokenPrefix string
	LastUsedAt  *time.Time
	CreatedAt   time.Time
}

// TableName keeps GORM from pluralising "api_token" oddly.
func (APIToken) TableName() string { return "api_tokens" }

// JobRun is one execution of a cron job.
type JobRun struct {
	ID         int64
	Name       string
	Host       string
	StartedAt  time.Time
	DurationMs int
	Error      string
}

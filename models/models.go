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
	// ScheduleCalendarID is the agent's own working schedule (nil: always inside it).
	ScheduleCalendarID *int64
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
	// Routing (issue 9): a returning contact goes back to their last agent when eligible;
	// an agent offline (or silent past UnansweredLimitSeconds, business time) loses their
	// chats to the queue after OfflineGraceSeconds; AwayMessage is sent outside hours
	// ("" = the default text, {proxima_apertura} names the next opening).
	Sticky                 bool `gorm:"default:true"`
	OfflineGraceSeconds    int  `gorm:"default:600"`
	UnansweredLimitSeconds *int
	AwayMessage            string
}

// Routing strategies (teams.routing_mode).
const (
	RoutingManual     = "manual"
	RoutingRoundRobin = "round_robin"
	RoutingLeastBusy  = "least_busy"
)

// SLAPolicy holds a team's targets in seconds (nil = no target), measured on the wall
// clock or, with BusinessHours, on the team's calendar; a warning at WarningPercent.
type SLAPolicy struct {
	ID                   int64
	WorkspaceID          int64
	Name                 string
	FirstResponseSeconds *int
	NextResponseSeconds  *int
	ResolutionSeconds    *int
	BusinessHours        bool
	WarningPercent       int `gorm:"default:80"`
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// TableName: sla_policies.
func (SLAPolicy) TableName() string { return "sla_policies" }

// Routing rule kinds (routing_rules.kind); Cond holds the condition, keyed by the kind
// ({"country":"MX"}, {"keywords":[…]}, {"menu_option":"1"}, {"stage_id":N},
// {"channel_id":N}, {"company_owner":true}, {"default":true}).
const (
	RuleMenuOption   = "menu_option"
	RuleKeywords     = "keywords"
	RuleCountry      = "country"
	RuleStage        = "stage"
	RuleCompanyOwner = "company_owner"
	RuleChannel      = "channel"
	RuleDefault      = "default"
)

// RoutingRule is one rule of the workspace's routing, tried in Position order.
type RoutingRule struct {
	ID          int64
	WorkspaceID int64
	Name        string
	Position    int
	Kind        string
	Cond        JSON
	TeamID      *int64
	LabelID     *int64
	Priority    string
	Active      bool `gorm:"default:true"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// MenuOption is one option of a channel's welcome menu (stored in ChannelMenu.Options).
type MenuOption struct {
	Key     string `json:"key"`
	Title   string `json:"title"`
	TeamID  *int64 `json:"team_id,omitempty"`
	LabelID *int64 `json:"label_id,omitempty"`
}

// ChannelMenu is a channel's welcome menu: its text and up to 10 options (JSON []MenuOption).
type ChannelMenu struct {
	ID          int64
	WorkspaceID int64
	ChannelID   int64
	Text        string
	Options     JSON
	Active      bool `gorm:"default:true"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
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

// Automation triggers (automations.trigger_kind) and actions (automations.action_kind).
const (
	TriggerLeadStage          = "lead_stage"          // {"stage_id":N}
	TriggerConversationClosed = "conversation_closed" // {}
	TriggerLabelAdded         = "label_added"         // {"label_id":N}

	ActionAssign       = "assign"        // {"team_id":N} and/or {"user_id":N}
	ActionAddLabel     = "add_label"     // {"label_id":N}
	ActionCreateTask   = "create_task"   // {"kind":"call","title":"…","due_minutes":N,"user_id":N}
	ActionSendTemplate = "send_template" // {"template_id":N,"params":{"1":"{{nombre}}"}}
	ActionMoveLead     = "move_lead"     // {"stage_id":N}
)

// Automation is an admin's "when … then …" rule, fired in Position order.
type Automation struct {
	ID            int64
	WorkspaceID   int64
	Name          string
	TriggerKind   string
	TriggerParams JSON
	ActionKind    string
	ActionParams  JSON
	Position      int
	Active        bool `gorm:"default:true"`
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// AutomationRun is one run of an automation: what it did, or why it did nothing.
type AutomationRun struct {
	ID             int64
	WorkspaceID    int64
	AutomationID   int64
	ConversationID *int64
	LeadID         *int64
	Outcome        string
	OK             bool `gorm:"column:ok"`
	At             time.Time
}

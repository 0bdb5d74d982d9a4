package models

import "time"

// Stage kinds: a lead in an open stage is still in play; won and lost close it.
const (
	StageOpen = "open"
	StageWon  = "won"
	StageLost = "lost"
)

// Pipeline is a sales process with ordered stages ("Ventas B2B", "Renovaciones").
type Pipeline struct {
	ID          int64
	WorkspaceID int64
	Name        string
	Currency    string
	Position    int
	IsDefault   bool
	CreatedAt   time.Time

	Stages []Stage `gorm:"foreignKey:PipelineID" json:"-"`
}

// Stage is one column of a pipeline.
type Stage struct {
	ID          int64
	WorkspaceID int64
	PipelineID  int64
	Name        string
	Position    int
	Probability int
	Kind        string
	// RotDays: a lead that stays longer than this in the stage is "rotting" (nil: never).
	RotDays   *int
	CreatedAt time.Time
}

// Lead is an opportunity: a possible sale to a contact, often born in a conversation.
type Lead struct {
	ID             int64
	WorkspaceID    int64
	PipelineID     int64
	StageID        int64
	Title          string
	Value          float64
	Currency       string
	ContactID      int64
	OwnerID        *int64
	ConversationID *int64
	CycleID        *int64
	ExpectedClose  *time.Time
	LostReason     string
	StageChangedAt time.Time
	ClosedAt       *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time

	Pipeline *Pipeline `json:"-"`
	Stage    *Stage    `json:"-"`
	Contact  *Contact  `json:"-"`
	Owner    *User     `json:"-"`
}

// LeadEvent is one line of a lead's timeline (created, stage, edit).
type LeadEvent struct {
	ID          int64
	WorkspaceID int64
	LeadID      int64
	Kind        string
	At          time.Time
	ActorKind   string
	UserID      *int64
	FromStageID *int64
	ToStageID   *int64
	Note        string
}

// Task kinds.
const (
	TaskCall     = "call"
	TaskDemo     = "demo"
	TaskVisit    = "visit"
	TaskFollowUp = "follow_up"
)

// Task is a next step with a due time, on a lead or a contact.
type Task struct {
	ID          int64
	WorkspaceID int64
	Kind        string
	Title       string
	DueAt       time.Time
	AssigneeID  int64
	LeadID      *int64
	ContactID   *int64
	CreatedBy   *int64
	DoneAt      *time.Time
	DoneBy      *int64
	NotifiedAt  *time.Time
	CreatedAt   time.Time
}

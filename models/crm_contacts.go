package models

import "time"

// Company is a B2B account: contacts belong to at most one.
type Company struct {
	ID          int64
	WorkspaceID int64
	Name        string
	TaxID       string `gorm:"column:tax_id"` // RUC, RFC, CUIT, NIT, RUT… read with Country
	Country     string
	Domain      string
	OwnerID     *int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Kinds of custom contact fields.
const (
	FieldText   = "text"
	FieldNumber = "number"
	FieldDate   = "date"
	FieldSelect = "select"
)

// ContactField is a custom field of contacts defined by an admin; values are stored in
// contacts.custom under Key.
type ContactField struct {
	ID          int64
	WorkspaceID int64
	Key         string
	Label       string
	Kind        string
	Options     JSON
	Position    int
	CreatedAt   time.Time
}

// ContactImport is one CSV upload of contacts and its progress.
type ContactImport struct {
	ID             int64
	WorkspaceID    int64
	UserID         *int64
	Filename       string
	Data           []byte `json:"-"`
	Mapping        JSON
	DefaultCountry string
	Status         string
	Total          int
	Processed      int
	Created        int
	Updated        int
	Failed         int
	Error          string
	CreatedAt      time.Time
	StartedAt      *time.Time
	FinishedAt     *time.Time
}

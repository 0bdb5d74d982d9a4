package models

import (
	"database/sql/driver"
	"errors"
)

// JSON is a jsonb column kept as raw bytes.
type JSON []byte

// Value stores NULL for an empty value, the bytes otherwise.
func (j JSON) Value() (driver.Value, error) {
	if len(j) == 0 {
		return nil, nil
	}
	return string(j), nil
}

// Scan copies the column's bytes.
func (j *JSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case []byte:
		*j = append((*j)[:0], v...)
	case string:
		*j = JSON(v)
	default:
		return errors.New("models.JSON: unsupported source type")
	}
	return nil
}

// MarshalJSON emits the raw JSON (null when empty).
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return j, nil
}

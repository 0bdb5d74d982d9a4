// Package apperr holds the sentinel errors domain services return and the web and
// API layers map to pages and status codes.
package apperr

import (
	"errors"
	"sort"
	"strings"
)

var (
	// ErrNotFound: the thing does not exist or the viewer may not see it (both look the same).
	ErrNotFound = errors.New("no encontrado")
	// ErrForbidden: the viewer may see it but not do this.
	ErrForbidden = errors.New("no tienes permiso para hacer esto")
	// ErrConflict: someone else changed it first.
	ErrConflict = errors.New("conflicto")
)

// Validation maps form fields to messages in Spanish. An empty map is no error.
type Validation map[string]string

// Error lists the messages, field order stable.
func (v Validation) Error() string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	msgs := make([]string, 0, len(v))
	for _, k := range keys {
		msgs = append(msgs, v[k])
	}
	return strings.Join(msgs, "; ")
}

// Add records msg for field unless one is already there.
func (v Validation) Add(field, msg string) {
	if _, ok := v[field]; !ok {
		v[field] = msg
	}
}

// Err returns v as an error, or nil when it is empty.
func (v Validation) Err() error {
	if len(v) == 0 {
		return nil
	}
	return v
}

// NotFound is an ErrNotFound that says what was not found ("No existe esa
// conversación o no tienes acceso."): the same words on pages and in the API.
type NotFound struct{ Msg string }

func (n NotFound) Error() string { return n.Msg }

// Is makes errors.Is(n, ErrNotFound) true.
func (n NotFound) Is(target error) bool { return target == ErrNotFound }

// Conflict is an ErrConflict with a message for people.
type Conflict struct{ Msg string }

func (c Conflict) Error() string { return c.Msg }

// Is makes errors.Is(c, ErrConflict) true.
func (c Conflict) Is(target error) bool { return target == ErrConflict }

// Invalid is a single validation message not tied to a form field.
func Invalid(msg string) error { return Validation{"": msg} }

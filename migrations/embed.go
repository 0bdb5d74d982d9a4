// Package migrations holds the numbered goose SQL migrations, embedded in the binary.
package migrations

import "embed"

// FS holds every *.sql migration.
//
//go:embed *.sql
var FS embed.FS

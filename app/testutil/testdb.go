// Package testutil gives every test its own fresh PostgreSQL database, cloned from a
// migrated template so that each one costs a CREATE DATABASE, not a migration run.
package testutil

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/migrations"
)

// ServerURL is the PostgreSQL server tests use: TEST_DATABASE_URL's server, or the local one.
func ServerURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// NewDB creates a fresh migrated database for t, dropped when t ends.
func NewDB(t testing.TB) *db.DB {
	t.Helper()
	ctx := context.Background()
	u := NewDatabaseURL(t)
	d, err := db.Open(ctx, u)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(d.Close)
	return d
}

// NewDatabaseURL creates a fresh migrated database and returns its URL (for tests that
// start processes of their own).
func NewDatabaseURL(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx) })
	if templateErr != nil {
		t.Fatalf("test template database: %v", templateErr)
	}
	name := "atiende_test_" + randomHex(6)
	admin := adminConn(t)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	_ = admin.Close(ctx)
	t.Cleanup(func() {
		c := adminConn(t)
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return withDatabase(ServerURL(), name)
}

func adminConn(t testing.TB) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), ServerURL())
	if err != nil {
		t.Fatalf("PostgreSQL is needed for tests (%v); `make test` starts it", err)
	}
	return c
}

// ensureTemplate builds (once per migration set, across parallel test processes) a
// migrated template database named after a hash of the migrations.
func ensureTemplate(ctx context.Context) (string, error) {
	name := "atiende_tmpl_" + MigrationsHash()[:12]
	c, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	// Test packages run as parallel processes: one builds the template, the others wait.
	if _, err := c.Exec(ctx, "SELECT pg_advisory_lock(727001)"); err != nil {
		return "", err
	}
	defer c.Exec(ctx, "SELECT pg_advisory_unlock(727001)") //nolint:errcheck
	var exists bool
	if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname=$1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)")
	if _, err := c.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return "", err
	}
	d, err := db.Open(ctx, withDatabase(ServerURL(), building))
	if err != nil {
		return "", err
	}
	mctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err = db.Migrate(mctx, d.SQL)
	d.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := c.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", err
	}
	return name, nil
}

// MigrationsHash identifies the migrations this binary holds (their names and texts):
// a database migrated by other ones has another hash. Test and bench templates are
// named after it.
func MigrationsHash() string {
	h := sha256.New()
	entries, _ := fs.ReadDir(migrations.FS, ".")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		b, _ := fs.ReadFile(migrations.FS, n)
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func withDatabase(serverURL, name string) string {
	u, err := url.Parse(serverURL)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}

// NewDBFromURL opens an existing database (one made by NewDatabaseURL), closed when t ends.
func NewDBFromURL(t testing.TB, url string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(d.Close)
	return d
}

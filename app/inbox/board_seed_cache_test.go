package inbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// boardSeedVersion names the seed's recipe (seedBoardInto): change it whenever the
// recipe changes, so that no benchmark runs on a template seeded the old way.
const boardSeedVersion = "board-bench-v2"

// boardSeedMaxAge bounds a template's age: the seed spreads its conversations over the
// days before it ran (open ones within the last 3 days), so a template from long ago
// would hold a board older than the one the benchmark means to read.
const boardSeedMaxAge = 20 * time.Hour

// seedBoardCached is seedBoard for benchmarks: the first run seeds a database kept as
// a template named after the migrations, the recipe and the sizes (as the report
// benchmarks do with atiende_benchrep_*); every run, that one included, then works on a
// fresh copy of it. Seeding 2M messages takes minutes; a copy takes seconds. The
// measured workload is the same rows either way.
func seedBoardCached(tb testing.TB, conversations, open, messages int) boardSeed {
	tb.Helper()
	ctx := context.Background()
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%d|%d|%d", testutil.MigrationsHash(), boardSeedVersion, conversations, open, messages))
	prefix := "atiende_benchboard_"
	tmpl := prefix + hex.EncodeToString(sum[:])[:16]

	admin, err := pgx.Connect(ctx, testutil.ServerURL())
	testutil.Must(tb, err)
	defer admin.Close(ctx)
	exec := func(q string) {
		tb.Helper()
		_, err := admin.Exec(ctx, q)
		testutil.Must(tb, err)
	}
	exec("SELECT pg_advisory_lock(727022)")                    // one process seeds, the others wait for it
	defer admin.Exec(ctx, "SELECT pg_advisory_unlock(727022)") //nolint:errcheck
	var seededAt *time.Time
	testutil.Must(tb, admin.QueryRow(ctx, `SELECT (SELECT to_timestamp(shobj_description(oid, 'pg_database')::bigint)
		FROM pg_database WHERE datname = $1)`, tmpl).Scan(&seededAt))
	if seededAt == nil || time.Since(*seededAt) > boardSeedMaxAge {
		// Templates seeded too long ago (this one too, if so) go: each is gigabytes.
		// Younger ones of other migrations stay (a branch's before and after).
		rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE $1
			AND (datname = $2 OR COALESCE(to_timestamp(shobj_description(oid, 'pg_database')::bigint), '-infinity') < now() - make_interval(secs => $3))`,
			prefix+"%", tmpl, boardSeedMaxAge.Seconds())
		testutil.Must(tb, err)
		var old []string
		for rows.Next() {
			var n string
			testutil.Must(tb, rows.Scan(&n))
			old = append(old, n)
		}
		testutil.Must(tb, rows.Err())
		for _, n := range old {
			exec("DROP DATABASE IF EXISTS " + n + " WITH (FORCE)")
		}
		start := time.Now()
		fresh, _ := url.Parse(testutil.NewDatabaseURL(tb)) // migrated, not opened yet
		building := tmpl + "_building"
		exec(fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", building, strings.TrimPrefix(fresh.Path, "/")))
		su, _ := url.Parse(testutil.ServerURL())
		su.Path = "/" + building
		// The seeding app stops before its database becomes a template: nobody may stay
		// connected to one.
		scope := &scopedTB{TB: tb}
		app := testutil.NewAppOn(scope, testutil.NewDBFromURL(scope, su.String()), clock.Real{})
		seedBoardInto(tb, app, conversations, open, messages)
		scope.close()
		exec("ALTER DATABASE " + building + " ALLOW_CONNECTIONS false")
		exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + building + "'")
		exec("ALTER DATABASE " + building + " RENAME TO " + tmpl)
		exec(fmt.Sprintf("COMMENT ON DATABASE %s IS '%d'", tmpl, start.Unix()))
		fmt.Printf("  seeded the board (%d conversations, %d messages) in %s, kept as %s\n",
			conversations, messages, time.Since(start).Round(time.Second), tmpl)
	}
	name := fmt.Sprintf("atiende_test_benchboard_%d", time.Now().UnixNano())
	// A file copy: WAL-logging gigabytes block by block would take far longer.
	exec(fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY", name, tmpl))
	tb.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), testutil.ServerURL())
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, _ := url.Parse(testutil.ServerURL())
	u.Path = "/" + name
	app := testutil.NewAppOn(tb, testutil.NewDBFromURL(tb, u.String()), clock.Real{})

	// The people and places the benchmarks use, as seedBoardInto made them.
	db := app.DB.Gorm
	s := boardSeed{app: app}
	testutil.Must(tb, db.Where("name = ?", "Bench").First(&s.ws).Error)
	for _, n := range []string{"Ventas", "Soporte", "Cobranzas"} {
		var t models.Team
		testutil.Must(tb, db.Where("workspace_id = ? AND name = ?", s.ws.ID, n).First(&t).Error)
		s.teams = append(s.teams, t)
	}
	for email, u := range map[string]*models.User{"admin@bench.pe": &s.admin, "sup@bench.pe": &s.sup, "agente@bench.pe": &s.agent} {
		testutil.Must(tb, db.Where("workspace_id = ? AND email = ?", s.ws.ID, email).First(u).Error)
	}
	for _, n := range []string{"Principal", "Soporte"} {
		var ch models.Channel
		testutil.Must(tb, db.Where("workspace_id = ? AND name = ?", s.ws.ID, n).First(&ch).Error)
		s.channels = append(s.channels, ch.ID)
	}
	return s
}

// scopedTB runs the cleanups registered through it when close is called rather than
// when the benchmark ends (the seeding app stops as soon as the seed is done).
type scopedTB struct {
	testing.TB
	cleanups []func()
}

func (s *scopedTB) Cleanup(f func()) { s.cleanups = append(s.cleanups, f) }

func (s *scopedTB) close() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
	s.cleanups = nil
}

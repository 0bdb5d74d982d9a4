package migrations_test

import (
	"testing"

	"github.com/atiende/atiende/app/testutil"
)

// Every domain table carries workspace_id, the distribution column should the database
// ever be sharded by workspace (Citus): a new table without it fails here. The
// exceptions are named with the reason.
func TestEveryDomainTableHasWorkspaceID(t *testing.T) {
	exceptions := map[string]string{
		"workspaces":       "the tenants themselves (distributed by id)",
		"goose_db_version": "schema bookkeeping (a reference table)",
		"sessions":         "scs's store, keyed by token; the session data names the user",
		"login_attempts":   "throttling before anyone is signed in: keyed by email and address",
		"job_runs":         "the cluster's job log, not a workspace's data",
	}
	d := testutil.NewDB(t)
	var tables []string
	testutil.Must(t, d.Gorm.Raw(`SELECT t.table_name FROM information_schema.tables t
		WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE'
		AND NOT EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = 'public'
			AND c.table_name = t.table_name AND c.column_name = 'workspace_id' AND c.is_nullable = 'NO')
		ORDER BY 1`).Scan(&tables).Error)
	if len(tables) == 0 {
		t.Fatal("the schema query found no tables at all")
	}
	seen := map[string]bool{}
	for _, name := range tables {
		seen[name] = true
		if _, ok := exceptions[name]; !ok {
			t.Errorf("table %s has no NOT NULL workspace_id: add it, or name it here as an exception with the reason", name)
		}
	}
	for name := range exceptions {
		if !seen[name] {
			t.Errorf("exception %s is stale: the table is gone or now has workspace_id", name)
		}
	}
}

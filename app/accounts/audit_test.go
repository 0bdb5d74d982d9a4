package accounts_test

import (
	"testing"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// TestChangesAreAuditedInTheirTransaction: a change made from the command line is
// audited with its source and before/after; a change that fails leaves no audit row.
func TestChangesAreAuditedInTheirTransaction(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := audit.WithActor(f.ctx, audit.Actor{Source: audit.SourceCLI})
	ana := f.user(t, "ana@acme.pe", models.RoleAgent)
	f.user(t, "beto@acme.pe", models.RoleAgent)
	in := accounts.UserInput{Email: ana.Email, Name: "Ana", Role: models.RoleSupervisor, MaxConcurrent: 10, Active: true}
	_, err := f.svc.UpdateUser(ctx, f.ws.ID, ana.ID, in)
	testutil.Must(t, err)
	var row struct {
		Source string
		Before string
		After  string
	}
	testutil.Must(t, f.svc.DB.Raw(`SELECT source, data->'before'->>'role' AS before, data->'after'->>'role' AS after
		FROM audit_events WHERE action = ? AND target_id = ?`, audit.UserUpdate, ana.ID).Scan(&row).Error)
	if row.Source != audit.SourceCLI || row.Before != models.RoleAgent || row.After != models.RoleSupervisor {
		t.Fatalf("audit row %+v, want source cli and role agent → supervisor", row)
	}

	in.Email = "beto@acme.pe" // taken: the update fails
	in.Role = models.RoleAdmin
	if _, err := f.svc.UpdateUser(ctx, f.ws.ID, ana.ID, in); err == nil {
		t.Fatal("a duplicate email was accepted")
	}
	var n int64
	testutil.Must(t, f.svc.DB.Model(&models.AuditEvent{}).Where("action = ? AND target_id = ?", audit.UserUpdate, ana.ID).Count(&n).Error)
	if n != 1 {
		t.Fatalf("%d user.update rows after one update and one failed update, want 1", n)
	}
}

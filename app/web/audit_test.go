package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

func auditActions(t *testing.T, res testutil.Response) []string {
	t.Helper()
	var out []string
	byTestID(t, res, "audit-row").Each(func(_ int, s *goquery.Selection) { out = append(out, s.AttrOr("data-action", "")) })
	return out
}

func has(list []string, want string) bool {
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}

// TestAuditLogShowsWhoDidWhat: sign-ins, password resets, role changes and tokens
// appear on Configuración → Auditoría with who, the address and before/after; the
// filters narrow it; only admins see it.
func TestAuditLogShowsWhoDidWhat(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "admin@acme.pe", models.RoleAdmin)
	ana := newUser(t, app, ws, "ana@acme.pe", models.RoleAgent)
	other := app.Workspace("Otra")
	newUser(t, app, other, "intruso@otra.pe", models.RoleAdmin)

	wantStatus(t, login(app.Client(), ana.Email, "equivocada-1", ""), http.StatusUnauthorized)
	ac := app.LoginAs(ana)
	ac.Get("/settings/tokens")
	wantStatus(t, ac.PostForm("/settings/tokens", url.Values{"name": {"ERP"}}), http.StatusCreated)
	boss := app.LoginAs(admin)
	f := resetForm(ana, "nueva-clave-123")
	f.Set("role", "supervisor")
	boss.Get(fmt.Sprintf("/settings/users/%d", ana.ID))
	wantRedirect(t, boss.PostForm(fmt.Sprintf("/settings/users/%d", ana.ID), f), "/settings/users")

	res := boss.Get("/settings/audit")
	wantStatus(t, res, http.StatusOK)
	got := auditActions(t, res)
	for _, want := range []string{audit.LoginFailure, audit.LoginSuccess, audit.TokenCreate, audit.UserUpdate, audit.PasswordReset} {
		if !has(got, want) {
			t.Errorf("the audit log lacks %s; it shows %v", want, got)
		}
	}
	update := res.Doc(t).Find(`[data-action="user.update"]`).First()
	if txt := squash(update.Text()); !strings.Contains(txt, "Rol: Agente → Supervisor") || !strings.Contains(txt, "Admin") || !strings.Contains(txt, "127.0.0.1") {
		t.Errorf("the role change does not say who, before and after, and from where: %q", txt)
	}
	if strings.Contains(res.Body, "intruso@otra.pe") {
		t.Error("another workspace's events are shown")
	}

	// Filters: action, person, dates.
	only := auditActions(t, boss.Get("/settings/audit?action=user.password_reset"))
	if len(only) != 1 || only[0] != audit.PasswordReset {
		t.Errorf("filtered by password resets: %v", only)
	}
	byAna := boss.Get(fmt.Sprintf("/settings/audit?user=%d", ana.ID))
	byAna.Doc(t).Find(`[data-testid="audit-row"] td[data-label="Quién"]`).Each(func(_ int, s *goquery.Selection) {
		if !strings.Contains(s.Text(), "Ana") {
			t.Errorf("filtered by Ana, a row by %q", squash(s.Text()))
		}
	})
	if !has(auditActions(t, byAna), audit.TokenCreate) {
		t.Error("Ana's token is not among her events")
	}
	tomorrow := time.Now().AddDate(0, 0, 2).Format("2006-01-02")
	if n := len(auditActions(t, boss.Get("/settings/audit?from="+tomorrow))); n != 0 {
		t.Errorf("%d events in the future", n)
	}
	bad := boss.Get("/settings/audit?from=ayer&to=%00")
	wantStatus(t, bad, http.StatusUnprocessableEntity)
	if byTestID(t, bad, "error-from").Length() != 1 {
		t.Error("a bad date is not explained")
	}

	// Admins only.
	wantStatus(t, app.LoginAs(newUser(t, app, ws, "sup@acme.pe", models.RoleSupervisor)).Get("/settings/audit"), http.StatusForbidden)
}

func TestAuditLogPagesAndExports(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "admin@acme.pe", models.RoleAdmin)
	base := time.Now().Add(-time.Hour)
	for i := range 120 {
		testutil.Must(t, audit.Record(app.DB.Gorm.WithContext(context.Background()), audit.Entry{WorkspaceID: ws.ID, Action: audit.SettingsChange,
			ActorID: admin.ID, TargetType: "label", TargetID: int64(i + 1), At: base.Add(time.Duration(i%7) * time.Second),
			Data: map[string]any{"change": "label.create"}}))
	}
	boss := app.LoginAs(admin)
	seen := map[string]bool{}
	next, pages := "/settings/audit?action=settings.change", 0
	for next != "" {
		res := boss.Get(next)
		wantStatus(t, res, http.StatusOK)
		pages++
		byTestID(t, res, "audit-row").Each(func(_ int, s *goquery.Selection) {
			key := squash(s.Find(".audit-target").Text())
			if seen[key] {
				t.Errorf("%s shown twice across pages", key)
			}
			seen[key] = true
		})
		next = byTestID(t, res, "audit-next").AttrOr("href", "")
	}
	if len(seen) != 120 || pages != 3 {
		t.Fatalf("paging showed %d distinct events in %d pages, want 120 in 3", len(seen), pages)
	}

	res := boss.Get("/settings/audit.csv?action=settings.change")
	wantStatus(t, res, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q", ct)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(res.Body, "\xef\xbb\xbf"))).ReadAll()
	testutil.Must(t, err)
	if len(recs) != 121 || recs[0][0] != "fecha" || recs[1][3] != audit.SettingsChange || recs[1][1] != "Admin" {
		t.Fatalf("CSV: %d records, first %v, second %v", len(recs), recs[0], recs[min(1, len(recs)-1)])
	}
	if !has(auditActions(t, boss.Get("/settings/audit?action=data.export")), audit.Export) {
		t.Error("the export itself is not audited")
	}
}

// TestSettingsChangesAreAuditedWithoutSecrets: channels and labels changed on their
// screens show in the audit log with before/after; channel secrets never do.
func TestSettingsChangesAreAuditedWithoutSecrets(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	admin := newUser(t, app, ws, "admin@acme.pe", models.RoleAdmin)
	boss := app.LoginAs(admin)
	boss.Get("/settings/channels")
	wantRedirect(t, boss.PostForm("/settings/channels", channelForm("Ventas", "106540352242922")), "/settings/channels")
	var chID int64
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT id FROM channels WHERE workspace_id = ?`, ws.ID).Scan(&chID).Error)
	f := channelForm("Ventas Lima", "106540352242922")
	f.Set("access_token", "EAAG-nuevo-token-secreto-987")
	f.Set("app_secret", "")
	f.Set("verify_token", "")
	boss.Get(fmt.Sprintf("/settings/channels/%d", chID))
	wantRedirect(t, boss.PostForm(fmt.Sprintf("/settings/channels/%d", chID), f), "/settings/channels")
	boss.Get("/settings/labels")
	wantRedirect(t, boss.PostForm("/settings/labels", url.Values{"name": {"VIP"}, "color": {"#dc2626"}}), "/settings/labels")

	res := boss.Get("/settings/audit?action=settings.change")
	wantStatus(t, res, http.StatusOK)
	text := squash(res.Doc(t).Find(`[data-testid="audit-table"]`).Text())
	for _, want := range []string{"Canal modificado", "Nombre: Ventas → Ventas Lima", "Secretos reemplazados: token de acceso", "Etiqueta creada", "Nombre: VIP"} {
		if !strings.Contains(text, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, text)
		}
	}
	var leaked int64
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE data::text LIKE '%nuevo-token-secreto%' OR data::text LIKE ?`,
		"%"+plainAccessToken+"%").Scan(&leaked).Error)
	if leaked != 0 {
		t.Fatal("a channel secret was written to the audit log")
	}
}

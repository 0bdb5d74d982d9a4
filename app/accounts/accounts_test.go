package accounts_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

const password = "correcto-123"

type fixture struct {
	svc *accounts.Service
	clk *clock.Manual
	ws  models.Workspace
	ctx context.Context
}

func setup(t *testing.T) fixture {
	t.Helper()
	d := testutil.NewDB(t)
	clk := clock.NewManual(time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC))
	svc := accounts.New(d.Gorm, clk)
	ctx := context.Background()
	ws, err := svc.EnsureWorkspace(ctx, "Acme", "America/Lima")
	if err != nil {
		t.Fatal(err)
	}
	return fixture{svc: svc, clk: clk, ws: ws, ctx: ctx}
}

// cheapHash is password at bcrypt's minimum cost: under -race one hash at the app's
// cost takes about two seconds here, and signing in works the same with either.
var cheapHash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}()

// user stores an active user with password directly (CreateUser has its own tests).
func (f fixture) user(t *testing.T, email, role string, teams ...int64) models.User {
	t.Helper()
	u := models.User{WorkspaceID: f.ws.ID, Email: email, Name: strings.Split(email, "@")[0], PasswordHash: cheapHash,
		Role: role, Active: true, MaxConcurrent: 10, Presence: models.PresenceOffline}
	testutil.Must(t, f.svc.DB.Create(&u).Error)
	for _, id := range teams {
		testutil.Must(t, f.svc.DB.Create(&models.TeamMember{WorkspaceID: f.ws.ID, TeamID: id, UserID: u.ID}).Error)
	}
	return u
}

func validation(t *testing.T, err error) apperr.Validation {
	t.Helper()
	var v apperr.Validation
	if !errors.As(err, &v) {
		t.Fatalf("want a validation error, got %v", err)
	}
	return v
}

func TestAuthenticateThrottling(t *testing.T) {
	t.Parallel()

	t.Run("per email, whatever the IP", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		u := f.user(t, "ana@acme.pe", models.RoleAgent)
		for i := 0; i < accounts.MaxFailures; i++ {
			_, err := f.svc.Authenticate(f.ctx, "ANA@acme.pe", "mal", "10.0.0."+strconv.Itoa(i))
			if !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		if _, err := f.svc.Authenticate(f.ctx, u.Email, password, "10.9.9.9"); !errors.Is(err, accounts.ErrThrottled) {
			t.Fatalf("11th attempt with the right password from a new IP: %v, want throttled", err)
		}
		// Someone else on one of those IPs is not affected.
		other := f.user(t, "beto@acme.pe", models.RoleAgent)
		if _, err := f.svc.Authenticate(f.ctx, other.Email, password, "10.0.0.1"); err != nil {
			t.Fatalf("another user from a shared IP: %v", err)
		}
		// The window slides: 15 minutes later the right password works again.
		f.clk.Advance(accounts.FailureWindow + time.Second)
		if _, err := f.svc.Authenticate(f.ctx, u.Email, password, "10.9.9.9"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})

	t.Run("per IP, whatever the email", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		u := f.user(t, "ana@acme.pe", models.RoleAgent)
		for i := 0; i < accounts.MaxFailuresPerIP; i++ {
			email := f.user(t, "agente"+strconv.Itoa(i)+"@acme.pe", models.RoleAgent).Email
			if _, err := f.svc.Authenticate(f.ctx, email, "mal", "198.51.100.7"); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		if _, err := f.svc.Authenticate(f.ctx, u.Email, password, "198.51.100.7"); !errors.Is(err, accounts.ErrThrottled) {
			t.Fatalf("from the noisy IP: %v, want throttled", err)
		}
		if _, err := f.svc.Authenticate(f.ctx, u.Email, password, "198.51.100.8"); err != nil {
			t.Fatalf("from another IP: %v", err)
		}
	})

	t.Run("old failures do not count", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		u := f.user(t, "ana@acme.pe", models.RoleAgent)
		for i := 0; i < accounts.MaxFailures-1; i++ {
			_, _ = f.svc.Authenticate(f.ctx, u.Email, "mal", "10.0.0.1")
		}
		f.clk.Advance(accounts.FailureWindow + time.Second)
		_, _ = f.svc.Authenticate(f.ctx, u.Email, "mal", "10.0.0.1")
		if _, err := f.svc.Authenticate(f.ctx, u.Email, password, "10.0.0.1"); err != nil {
			t.Fatalf("one recent failure plus nine old ones throttled: %v", err)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	u := f.user(t, "ana@acme.pe", models.RoleAgent)

	got, err := f.svc.Authenticate(f.ctx, "  Ana@ACME.pe ", password, "10.0.0.1")
	if err != nil || got.ID != u.ID {
		t.Fatalf("case and spaces in the email: %v", err)
	}
	if _, err := f.svc.Authenticate(f.ctx, u.Email, strings.ToUpper(password), "10.0.0.1"); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatalf("passwords are case-sensitive: %v", err)
	}

	// The same email in two workspaces: the password picks the account.
	beta, err := f.svc.EnsureWorkspace(f.ctx, "Beta", "")
	testutil.Must(t, err)
	twin, err := f.svc.CreateUser(f.ctx, beta.ID, accounts.UserInput{Email: u.Email, Name: "Ana B", Role: models.RoleAdmin, Password: "otra-clave-9", Active: true})
	testutil.Must(t, err)
	if got, err := f.svc.Authenticate(f.ctx, u.Email, "otra-clave-9", "10.0.0.1"); err != nil || got.ID != twin.ID {
		t.Fatalf("twin account: %v (id %d, want %d)", err, got.ID, twin.ID)
	}

	// Deactivated: refused with the same error as a wrong password.
	_, err = f.svc.UpdateUser(f.ctx, f.ws.ID, u.ID, accounts.UserInput{Email: u.Email, Name: u.Name, Role: u.Role, MaxConcurrent: 10, Active: false})
	testutil.Must(t, err)
	if _, err := f.svc.Authenticate(f.ctx, u.Email, password, "10.0.0.1"); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatalf("deactivated user: %v", err)
	}
	if _, err := f.svc.LoadViewer(f.ctx, u.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("deactivated user's session still loads: %v", err)
	}
}

func TestCreateUserValidation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.user(t, "ana@acme.pe", models.RoleAdmin)

	err := func() error {
		_, err := f.svc.CreateUser(f.ctx, f.ws.ID, accounts.UserInput{Email: "ana@", Name: " ", Role: "owner", Password: "1234567", MaxConcurrent: 501})
		return err
	}()
	v := validation(t, err)
	for _, field := range []string{"email", "name", "role", "password", "max_concurrent"} {
		if v[field] == "" {
			t.Errorf("no message for %s: %v", field, v)
		}
	}

	_, err = f.svc.CreateUser(f.ctx, f.ws.ID, accounts.UserInput{Email: "Ana@Acme.pe", Name: "Otra Ana", Role: models.RoleAgent, Password: password})
	if validation(t, err)["email"] == "" {
		t.Fatal("duplicate email (other case) accepted")
	}

	beta, _ := f.svc.EnsureWorkspace(f.ctx, "Beta", "")
	betaTeam, err := f.svc.CreateTeam(f.ctx, beta.ID, accounts.TeamInput{Name: "Ventas"})
	testutil.Must(t, err)
	_, err = f.svc.CreateUser(f.ctx, f.ws.ID, accounts.UserInput{Email: "carla@acme.pe", Name: "Carla", Role: models.RoleAgent, Password: password, TeamIDs: []int64{betaTeam.ID}})
	if validation(t, err)["teams"] == "" {
		t.Fatal("a team of another workspace was accepted")
	}
	if _, err := f.svc.FindUserByEmail(f.ctx, f.ws.ID, "carla@acme.pe"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatal("the user was saved although their teams were refused")
	}
}

func TestOneActiveAdminAlwaysRemains(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ana := f.user(t, "ana@acme.pe", models.RoleAdmin)
	in := accounts.UserInput{Email: ana.Email, Name: ana.Name, Role: models.RoleAgent, MaxConcurrent: 10, Active: true}
	if validation(t, func() error { _, err := f.svc.UpdateUser(f.ctx, f.ws.ID, ana.ID, in); return err }())["role"] == "" {
		t.Fatal("last admin demoted")
	}
	in.Role, in.Active = models.RoleAdmin, false
	if validation(t, func() error { _, err := f.svc.UpdateUser(f.ctx, f.ws.ID, ana.ID, in); return err }())["role"] == "" {
		t.Fatal("last admin deactivated")
	}
	// An inactive admin does not count as the one that remains.
	beto := f.user(t, "beto@acme.pe", models.RoleAdmin)
	_, err := f.svc.UpdateUser(f.ctx, f.ws.ID, beto.ID, accounts.UserInput{Email: beto.Email, Name: beto.Name, Role: models.RoleAdmin, Active: false})
	testutil.Must(t, err)
	in.Role, in.Active = models.RoleAgent, true
	if _, err := f.svc.UpdateUser(f.ctx, f.ws.ID, ana.ID, in); err == nil {
		t.Fatal("demoted while the only other admin is inactive")
	}
	// Admins of another workspace do not count either.
	beta, _ := f.svc.EnsureWorkspace(f.ctx, "Beta", "")
	_, err = f.svc.CreateUser(f.ctx, beta.ID, accounts.UserInput{Email: "x@beta.pe", Name: "X", Role: models.RoleAdmin, Password: password, Active: true})
	testutil.Must(t, err)
	if _, err := f.svc.UpdateUser(f.ctx, f.ws.ID, ana.ID, in); err == nil {
		t.Fatal("demoted because another workspace has an admin")
	}
}

func TestUpdateUserIsScopedToTheWorkspace(t *testing.T) {
	t.Parallel()
	f := setup(t)
	beta, _ := f.svc.EnsureWorkspace(f.ctx, "Beta", "")
	other, err := f.svc.CreateUser(f.ctx, beta.ID, accounts.UserInput{Email: "x@beta.pe", Name: "X", Role: models.RoleAgent, Password: password, Active: true})
	testutil.Must(t, err)
	_, err = f.svc.UpdateUser(f.ctx, f.ws.ID, other.ID, accounts.UserInput{Email: "x@beta.pe", Name: "Hack", Role: models.RoleAdmin, Active: true})
	if !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("editing another workspace's user: %v", err)
	}
	if _, err := f.svc.GetUser(f.ctx, f.ws.ID, other.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("GetUser across workspaces: %v", err)
	}
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.user(t, "admin@acme.pe", models.RoleAdmin)
	u := f.user(t, "ana@acme.pe", models.RoleAgent)
	tok, err := f.svc.CreateAPIToken(f.ctx, u, "cli")
	testutil.Must(t, err)
	tok2, err := f.svc.CreateAPIToken(f.ctx, u, "cli")
	testutil.Must(t, err)
	if tok == tok2 || len(tok) < 40 {
		t.Fatalf("tokens %q and %q", tok, tok2)
	}
	if id, err := f.svc.UserForToken(f.ctx, tok); err != nil || id != u.ID {
		t.Fatalf("UserForToken: %d %v", id, err)
	}
	if _, err := f.svc.UserForToken(f.ctx, tok+"x"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("altered token: %v", err)
	}
	_, err = f.svc.UpdateUser(f.ctx, f.ws.ID, u.ID, accounts.UserInput{Email: u.Email, Name: u.Name, Role: u.Role, Active: false})
	testutil.Must(t, err)
	if _, err := f.svc.UserForToken(f.ctx, tok); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("deactivated user's token still valid: %v", err)
	}
}

func TestResolveWorkspace(t *testing.T) {
	t.Parallel()
	d := testutil.NewDB(t)
	svc := accounts.New(d.Gorm, clock.Real{})
	ctx := context.Background()
	if _, err := svc.ResolveWorkspace(ctx, ""); err == nil || !strings.Contains(err.Error(), "user add") {
		t.Fatalf("no workspace: %v", err)
	}
	acme, _ := svc.EnsureWorkspace(ctx, "Acme", "")
	if w, err := svc.ResolveWorkspace(ctx, ""); err != nil || w.ID != acme.ID {
		t.Fatalf("the only workspace: %v", err)
	}
	if _, err := svc.EnsureWorkspace(ctx, "Beta", "Mars/Olympus"); validation(t, err)["timezone"] == "" {
		t.Fatal("unknown time zone accepted")
	}
	if _, err := svc.EnsureWorkspace(ctx, "Beta", "America/Bogota"); err != nil {
		t.Fatal(err)
	}
	_, err := svc.ResolveWorkspace(ctx, "")
	if err == nil || !strings.Contains(err.Error(), "Acme, Beta") || !strings.Contains(err.Error(), "--workspace") {
		t.Fatalf("two workspaces: %v", err)
	}
	if w, err := svc.ResolveWorkspace(ctx, "beta"); err != nil || w.Name != "Beta" {
		t.Fatalf("by name, any case: %v", err)
	}
	if _, err := svc.ResolveWorkspace(ctx, "Gamma"); err == nil || !strings.Contains(err.Error(), "Acme, Beta") {
		t.Fatalf("unknown name: %v", err)
	}
}

func TestTeams(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ventas, err := f.svc.CreateTeam(f.ctx, f.ws.ID, accounts.TeamInput{Name: " Ventas "})
	testutil.Must(t, err)
	if ventas.Name != "Ventas" || ventas.Color != "#2563eb" || ventas.RoutingMode != "manual" {
		t.Fatalf("defaults: %+v", ventas)
	}
	_, err = f.svc.CreateTeam(f.ctx, f.ws.ID, accounts.TeamInput{Name: "VENTAS"})
	if validation(t, err)["name"] == "" {
		t.Fatal("duplicate team name (other case) accepted")
	}
	beta, _ := f.svc.EnsureWorkspace(f.ctx, "Beta", "")
	if _, err := f.svc.CreateTeam(f.ctx, beta.ID, accounts.TeamInput{Name: "Ventas"}); err != nil {
		t.Fatalf("the same name in another workspace: %v", err)
	}
	if _, err := f.svc.CreateTeam(f.ctx, f.ws.ID, accounts.TeamInput{Name: strings.Repeat("x", 61)}); validation(t, err)["name"] == "" {
		t.Fatal("61-character name accepted")
	}
	if _, err := f.svc.UpdateTeam(f.ctx, beta.ID, ventas.ID, accounts.TeamInput{Name: "Hack"}); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("editing another workspace's team: %v", err)
	}
	_, err = f.svc.CreateUser(f.ctx, f.ws.ID, accounts.UserInput{Email: "a@acme.pe", Name: "A", Role: models.RoleAgent,
		Password: password, Active: true, TeamIDs: []int64{ventas.ID, ventas.ID}}) // a team ticked twice is harmless
	testutil.Must(t, err)
	rows, err := f.svc.ListTeams(f.ctx, f.ws.ID)
	testutil.Must(t, err)
	if len(rows) != 1 || rows[0].Members != 1 {
		t.Fatalf("teams: %+v", rows)
	}
}

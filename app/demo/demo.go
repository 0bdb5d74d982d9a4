// Package demo builds the demo workspace: users, teams and (as later parts land)
// a channel and weeks of history. Running it again refreshes, never duplicates.
package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/config"
	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/models"
)

// Password is every demo user's password.
const Password = "atiende-demo"

// Login is one demo login.
type Login struct{ Role, Email, Name string }

// Result says what the demo contains.
type Result struct {
	Workspace   string
	Users       []Login
	WebhookPath string
}

// The demo channel's identity and secrets (the fake Graph API and simulate use them).
const (
	PhoneNumberID = "106540352242922"
	AppSecret     = "demo-app-secret"
	VerifyToken   = "demo-verify-token"
	AccessToken   = "demo-access-token"
	WabaID        = "102290129340398"
)

type demoUser struct {
	email, name, role string
	teams             []string
}

var users = []demoUser{
	{"admin@demo.atiende.app", "Valeria Rojas", models.RoleAdmin, nil},
	{jorge, "Jorge Salazar", models.RoleSupervisor, []string{teamSales, teamSupport, teamBilling}},
	{ana, "Ana Torres", models.RoleAgent, []string{teamSales}},
	{luis, "Luis Mendoza", models.RoleAgent, []string{teamSupport}},
	{carla, "Carla Núñez", models.RoleAgent, []string{teamBilling, teamSales}},
	{diego, "Diego Paredes", models.RoleAgent, []string{teamSupport}},
}

var teams = []struct{ name, color string }{
	{teamSales, "#16a34a"}, {teamSupport, "#2563eb"}, {teamBilling, "#c2410c"},
}

// Load creates or refreshes the demo workspace.
func Load(ctx context.Context, d *db.DB, cfg config.Config) (Result, error) {
	acc := accounts.New(d.Gorm, clock.Real{})
	ws, err := acc.EnsureWorkspace(ctx, "Demo", "America/Lima")
	if err != nil {
		return Result{}, err
	}
	teamIDs := map[string]int64{}
	for _, t := range teams {
		team, err := acc.EnsureTeam(ctx, ws.ID, t.name, t.color)
		if err != nil {
			return Result{}, err
		}
		teamIDs[t.name] = team.ID
	}
	res := Result{Workspace: ws.Name}
	for _, du := range users {
		ids := []int64{}
		for _, t := range du.teams {
			ids = append(ids, teamIDs[t])
		}
		in := accounts.UserInput{Email: du.email, Name: du.name, Role: du.role, Password: Password, MaxConcurrent: 10, Active: true, TeamIDs: ids}
		existing, err := acc.FindUserByEmail(ctx, ws.ID, du.email)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			_, err = acc.CreateUser(ctx, ws.ID, in)
		case err == nil:
			_, err = acc.UpdateUser(ctx, ws.ID, existing.ID, in)
		}
		if err != nil {
			return Result{}, err
		}
		res.Users = append(res.Users, Login{Role: du.role, Email: du.email, Name: du.name})
	}
	box, err := secrets.New(cfg.SecretKey)
	if err != nil {
		return res, err
	}
	chs := channels.New(d.Gorm, box, clock.Real{})
	ch, err := chs.ByPhoneNumberID(ctx, PhoneNumberID)
	if errors.Is(err, apperr.ErrNotFound) {
		ch, err = chs.Create(ctx, ws.ID, channels.Input{Name: "Principal", PhoneNumberID: PhoneNumberID, DisplayPhone: "+51 1 555 0100",
			WabaID: WabaID, AccessToken: AccessToken, AppSecret: AppSecret, VerifyToken: VerifyToken})
	}
	if err != nil {
		return res, err
	}
	res.WebhookPath = ch.WebhookPath()
	if err := loadHistory(ctx, d, ws, ch, box); err != nil {
		return res, fmt.Errorf("demo history: %w", err)
	}
	if err := loadRouting(ctx, d, ws, ch, teamIDs); err != nil { // routing.go
		return res, fmt.Errorf("demo routing: %w", err)
	}
	return res, nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/clock"
)

func cmdUserAdd(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	email := fs.String("email", "", "the user's email (their login)")
	name := fs.String("name", "", "the user's full name")
	role := fs.String("role", "agent", "admin, supervisor or agent")
	password := fs.String("password", "", "their password (8+ characters)")
	teams := fs.String("teams", "", "comma-separated team names (created if missing)")
	workspace := fs.String("workspace", "", "workspace name (default: the only one; created by the first user add)")
	tz := fs.String("timezone", "America/Lima", "time zone of a workspace this command creates")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	acc := accounts.New(d.Gorm, clock.Real{})
	ws, err := acc.ResolveWorkspace(ctx, *workspace)
	if err != nil {
		var n int64
		if cerr := d.Gorm.WithContext(ctx).Table("workspaces").Count(&n).Error; cerr != nil || n > 0 && *workspace == "" {
			return err
		}
		wsName := *workspace
		if wsName == "" {
			wsName = "Principal"
		}
		if ws, err = acc.EnsureWorkspace(ctx, wsName, *tz); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "created workspace %q (%s)\n", ws.Name, ws.Timezone)
	}
	var teamIDs []int64
	for _, t := range strings.Split(*teams, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		team, err := acc.TeamByName(ctx, ws.ID, t)
		if errors.Is(err, apperr.ErrNotFound) {
			team, err = acc.CreateTeam(ctx, ws.ID, accounts.TeamInput{Name: t})
			if err == nil {
				fmt.Fprintf(env.Stderr, "created team %q\n", team.Name)
			}
		}
		if err != nil {
			return err
		}
		teamIDs = append(teamIDs, team.ID)
	}
	u, err := acc.CreateUser(ctx, ws.ID, accounts.UserInput{Email: *email, Name: *name, Role: *role, Password: *password, MaxConcurrent: 10, Active: true, TeamIDs: teamIDs})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "added %s <%s> as %s to workspace %q (id %d)\n", u.Name, u.Email, u.Role, ws.Name, u.ID)
	return nil
}

func cmdTokenCreate(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	email := fs.String("email", "", "the user the token acts as")
	name := fs.String("name", "cli", "a label to recognise the token by")
	workspace := fs.String("workspace", "", "workspace name (default: the only one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("--email is required")
	}
	d, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	acc := accounts.New(d.Gorm, clock.Real{})
	ws, err := acc.ResolveWorkspace(ctx, *workspace)
	if err != nil {
		return err
	}
	u, err := acc.FindUserByEmail(ctx, ws.ID, *email)
	if err != nil {
		return fmt.Errorf("no user %q in workspace %q", *email, ws.Name)
	}
	if !u.Active {
		return fmt.Errorf("user %q is deactivated", *email)
	}
	tok, err := acc.CreateAPIToken(ctx, u, *name)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, tok)
	return nil
}

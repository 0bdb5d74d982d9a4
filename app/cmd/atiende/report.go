package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/reports"
	"github.com/atiende/atiende/app/services"
)

func cmdReport(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	from := fs.String("from", "", "first day, YYYY-MM-DD (workspace time zone)")
	to := fs.String("to", "", "last day, YYYY-MM-DD (inclusive)")
	team := fs.String("team", "", "only this team's cycles")
	agent := fs.String("agent", "", "only the cycles assigned to this agent (email) at the close, or now")
	channel := fs.Int64("channel", 0, "only this channel's cycles (channel id)")
	format := fs.String("format", "json", "json or csv (one row per cycle)")
	workspace := fs.String("workspace", "", "workspace name (default: the only one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return errors.New("--from and --to are required (YYYY-MM-DD)")
	}
	if *format != "json" && *format != "csv" {
		return fmt.Errorf("--format is json or csv, not %q", *format)
	}
	d, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	svc, err := services.New(env.Config, d, clock.Real{}, env.Logger, nil)
	if err != nil {
		return err
	}
	ws, err := svc.Accounts.ResolveWorkspace(ctx, *workspace)
	if err != nil {
		return err
	}
	r, err := svc.Reports.Run(ctx, reports.Query{WorkspaceID: ws.ID, From: *from, To: *to, Team: *team,
		Agent: *agent, ChannelID: *channel, WithCycles: *format == "csv"})
	if err != nil {
		return err
	}
	if *format == "csv" {
		return reports.WriteCSV(env.Stdout, r)
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

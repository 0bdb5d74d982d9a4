package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/atiende/atiende/app/demo"
)

func cmdDemo(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	res, err := demo.Load(ctx, d, env.Config)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\nDemo workspace %q is ready. Sign in at http://localhost:%d/login with any of these (password %q):\n\n", res.Workspace, env.Config.Port, demo.Password)
	for _, u := range res.Users {
		fmt.Fprintf(env.Stdout, "  %-12s %-28s %s\n", u.Role, u.Email, u.Name)
	}
	fmt.Fprintln(env.Stdout)
	return nil
}

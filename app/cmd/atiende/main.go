// Command atiende is the whole application: web server, job worker, migrations,
// demo data and operator tools, as subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/config"
	"github.com/atiende/atiende/app/db"
)

const usage = `Atiende — bandeja compartida de WhatsApp con CRM.

Usage: atiende COMMAND [flags]

Commands:
  migrate        create the database if missing and apply migrations
  serve          run the web server and the jobs (one process cluster-wide runs jobs)
  worker         run the jobs only
  demo           create or refresh the demo workspace and print its logins
  user add       add a user: --email E --name N --role admin|supervisor|agent --password P [--teams T1,T2]
  token create   print a new API token for a user: --email E
  channel add    connect a WhatsApp number: --name N --phone-number-id ID --display-phone P
                 --waba-id W --access-token T --app-secret S --verify-token V (prints JSON)
  import         replay a history file (JSONL, see metrics.md): import [--workspace NAME] FILE.jsonl
  report         figures of metrics.md: report --from YYYY-MM-DD --to YYYY-MM-DD [--team NAME] [--format json|csv]
  templates sync copy the message templates of each channel's WhatsApp Business Account from Meta
  fake-meta      run a local fake of the Graph API (development and demos)
  simulate       send signed customer messages to a running server: --rate N --duration D
  webhooks failed   list webhook items that could not be applied (id, received at, channel, error) [--all]
  webhooks replay   apply one of them again: webhooks replay ID

Workspace-scoped commands take --workspace NAME (default: the only workspace).
Configuration comes from the environment: DATABASE_URL, PORT, WHATSAPP_GRAPH_URL,
ATIENDE_SECRET_KEY, ATIENDE_ENV, LOG_LEVEL, TRUSTED_PROXIES, METRICS_TOKEN,
METRICS_ADDR (see README.md).
`

type command func(ctx context.Context, env *Env, args []string) error

var commands = map[string]command{
	"migrate":      cmdMigrate,
	"serve":        cmdServe,
	"worker":       cmdWorker,
	"demo":         cmdDemo,
	"user add":     cmdUserAdd,
	"token create": cmdTokenCreate,
	"channel add":  cmdChannelAdd,
	"import":       cmdImport,
	"report":       cmdReport,
	"fake-meta":    cmdFakeMeta,
	"simulate":     cmdSimulate,
	"webhooks failed": func(ctx context.Context, env *Env, args []string) error {
		return cmdWebhooks(ctx, env, append([]string{"failed"}, args...))
	},
	"webhooks replay": func(ctx context.Context, env *Env, args []string) error {
		return cmdWebhooks(ctx, env, append([]string{"replay"}, args...))
	},
	"templates sync": cmdTemplatesSync,
}

// Env is what every command gets: configuration, logger, and where to print.
type Env struct {
	Config config.Config
	Logger *slog.Logger
	Stdout io.Writer
	Stderr io.Writer
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	name, rest := args[0], args[1:]
	if _, ok := commands[name]; !ok && len(args) > 1 {
		name, rest = args[0]+" "+args[1], args[2:]
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "atiende: unknown command %q\n\n%s", strings.Join(args[:min(2, len(args))], " "), usage)
		return 2
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "atiende: %v\n", err)
		return 1
	}
	logger := newLogger(cfg, stderr)
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Changes a command makes are audited as coming from the command line.
	ctx = audit.WithActor(ctx, audit.Actor{Source: audit.SourceCLI})
	if err := cmd(ctx, &Env{Config: cfg, Logger: logger, Stdout: stdout, Stderr: stderr}, rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "atiende %s: %v\n", name, err)
		return 1
	}
	return 0
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.Production() {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openDB connects and insists the schema is current (only migrate changes it).
func openDB(ctx context.Context, env *Env) (*db.DB, error) {
	d, err := db.Open(ctx, env.Config.DatabaseURL)
	if err != nil {
		return nil, err
	}
	n, err := db.Pending(ctx, d.SQL)
	if err != nil {
		d.Close()
		return nil, err
	}
	if n > 0 {
		d.Close()
		return nil, fmt.Errorf("the database has %d pending migration(s); run `atiende migrate` first", n)
	}
	return d, nil
}

func cmdMigrate(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := db.EnsureDatabase(ctx, env.Config.DatabaseURL); err != nil {
		return err
	}
	d, err := db.Open(ctx, env.Config.DatabaseURL)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := db.Migrate(ctx, d.SQL); err != nil {
		return fmt.Errorf("migration failed: %w", err)
	}
	fmt.Fprintln(env.Stdout, "database is up to date")
	return nil
}

// Package services builds every domain service of Atiende from the configuration, the
// database and one clock. serve, worker, the CLI commands and the tests all get their
// services here, so they can never be wired differently.
package services

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/automations"
	"github.com/atiende/atiende/app/catalog"
	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/config"
	"github.com/atiende/atiende/app/contacts"
	"github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/app/importer"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/ingest"
	"github.com/atiende/atiende/app/jobs"
	"github.com/atiende/atiende/app/media"
	"github.com/atiende/atiende/app/metrics"
	"github.com/atiende/atiende/app/reports"
	"github.com/atiende/atiende/app/routing"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/app/whatsapp/outbox"
)

// Services is every service of one process.
type Services struct {
	Config  config.Config
	DB      *db.DB
	Clock   clock.Clock
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	Box     *secrets.Box

	Accounts *accounts.Service
	Channels *channels.Service
	Catalog  *catalog.Service
	Inbox    *inbox.Service
	Ingest   *ingest.Ingester
	Importer *importer.Importer
	Reports  *reports.Service
	Graph    *whatsapp.Client
	Media    *media.Fetcher
	Sender   *outbox.Sender
	// Templates copies each WhatsApp Business Account's templates from Meta.
	Templates *catalog.TemplateSyncer
	// Scheduler sends scheduled replies when they are due.
	Scheduler      *inbox.Scheduler
	Contacts       *contacts.Service  // contacts, companies, merge
	ContactImports *contacts.Importer // CSV imports of contacts
	CRM            *crm.Service
	Routing        *routing.Service // rules, welcome menu, assignment, queues, away messages
	// Automations runs the admins' "when … then …" rules through inbox and CRM hooks.
	Automations *automations.Service
}

// New builds the services. A nil clock is the wall clock; a nil logger discards; a nil
// metrics registry gets a fresh one.
func New(cfg config.Config, d *db.DB, clk clock.Clock, logger *slog.Logger, m *metrics.Metrics) (*Services, error) {
	if clk == nil {
		clk = clock.Real{}
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if m == nil {
		m = metrics.New(d.SQL)
		m.WatchPool(d.Pool)
	}
	box, err := secrets.New(cfg.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("cannot open channel secrets: %w", err)
	}
	s := &Services{Config: cfg, DB: d, Clock: clk, Logger: logger, Metrics: m, Box: box}
	s.Accounts = accounts.New(d.Gorm, clk)
	s.Accounts.Box = box // two-factor secrets are sealed like channel secrets
	s.Channels = channels.New(d.Gorm, box, clk)
	s.Catalog = catalog.New(d.Gorm, clk)
	s.Inbox = inbox.New(d.Gorm, clk)
	s.Inbox.Reads = d.Reads
	s.CRM = crm.New(d.Gorm, clk, s.Inbox)
	s.Inbox.OnFirstCycle = s.CRM.AutoLead
	s.Routing = routing.New(d.Gorm, s.Inbox, clk, logger)
	s.Inbox.PreRoute, s.Inbox.OnRouting, s.Inbox.AfterCommit = s.Routing.Decide, s.Routing.Route, s.Routing.AfterCommit
	s.Automations = automations.New(d.Gorm, clk, s.Inbox, s.CRM)
	s.Automations.Hook()
	s.Ingest = &ingest.Ingester{DB: d.Gorm, Inbox: s.Inbox, Clock: clk, Logger: logger, Metrics: m}
	s.Importer = &importer.Importer{DB: d.Gorm, Inbox: s.Inbox, Box: box}
	s.Reports = reports.New(d.Gorm, d.Pool, clk)
	s.Graph = &whatsapp.Client{BaseURL: cfg.GraphURL}
	s.Media = &media.Fetcher{DB: d.Gorm, Graph: s.Graph, Channels: s.Channels, Logger: logger, Clock: clk}
	s.Templates = &catalog.TemplateSyncer{Catalog: s.Catalog, Channels: s.Channels, Graph: s.Graph}
	s.Scheduler = &inbox.Scheduler{Inbox: s.Inbox, Accounts: s.Accounts}
	s.Sender = &outbox.Sender{DB: d.Gorm, Pool: d.Pool, Graph: s.Graph, Channels: s.Channels, Logger: logger, Metrics: m}
	s.Contacts = contacts.New(d.Gorm, clk)
	s.ContactImports = &contacts.Importer{Svc: s.Contacts, Pool: d.Pool, Logger: logger}
	return s, nil
}

// Jobs is the cron table of these services.
func (s *Services) Jobs() []jobs.Job {
	return jobs.Table(jobs.Deps{DB: s.DB, Media: s.Media, Ingest: s.Ingest, Templates: s.Templates, Scheduled: s.Scheduler, Routing: s.Routing, Reports: s.Reports})
}

// Runner is the job runner of these services: one leader in the cluster runs the jobs
// with this clock.
func (s *Services) Runner() *jobs.Runner {
	return &jobs.Runner{DatabaseURL: s.Config.DatabaseURL, Pool: s.DB.Pool, Jobs: s.Jobs(), Logger: s.Logger, Metrics: s.Metrics, Clock: s.Clock}
}

// RunJob runs the named job once at now (tests, operators). It is an error to name a
// job that is not in the table.
func (s *Services) RunJob(ctx context.Context, name string, now time.Time) error {
	for _, j := range s.Jobs() {
		if j.Name == name {
			return j.Fn(ctx, now)
		}
	}
	return fmt.Errorf("no job is called %q", name)
}

package jobs

import (
	"context"
	"time"

	"github.com/atiende/atiende/app/catalog"
	"github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/ingest"
	"github.com/atiende/atiende/app/media"
	"github.com/atiende/atiende/app/reports"
	"github.com/atiende/atiende/app/routing"
	"github.com/atiende/atiende/app/whatsapp/outbox"
)

// Deps are what the jobs work with.
type Deps struct {
	DB     *db.DB
	Media  *media.Fetcher
	Ingest *ingest.Ingester // retries webhook dead letters
	// Templates copies each WhatsApp Business Account's templates from Meta (nil: no job).
	Templates *catalog.TemplateSyncer
	// Scheduled sends scheduled replies when they are due (nil: no job).
	Scheduled *inbox.Scheduler
	// Routing drains team queues and takes chats back from absent agents (nil: no jobs).
	Routing *routing.Service
	// Reports keeps the per-cycle figures and daily rollups current (nil: no job).
	Reports *reports.Service
}

// RetryDeadLetters replays the webhook items due at now; the cron table runs it every
// minute with the wall clock, tests with a manual one.
func RetryDeadLetters(ctx context.Context, g *ingest.Ingester, now time.Time) error {
	_, _, err := g.RetryDue(ctx, now, 100)
	return err
}

// Table is the cron table: every scheduled job of the application in one place.
func Table(deps Deps) []Job {
	d := deps.DB
	js := []Job{
		{Name: "media.fetch", Spec: "@every 5s", Quiet: true, Fn: func(ctx context.Context, now time.Time) error {
			// Meta's download links expire: copy new media soon after the webhook.
			return deps.Media.FetchPending(ctx, now, 20)
		}},
		{Name: "presence.away", Spec: "@every 30s", Quiet: true, Fn: func(ctx context.Context, now time.Time) error {
			// Agents whose heartbeats stopped (closed laptop, lost network) show as offline.
			_, err := inbox.MarkAwayOffline(ctx, d.Gorm, now, inbox.AwayAfter)
			return err
		}},
		{Name: "tasks.notify_due", Spec: "@every 30s", Quiet: true, Fn: func(ctx context.Context, now time.Time) error {
			// Each assignee hears once, live, when one of their tasks comes due.
			_, err := crm.NotifyDue(ctx, d.Gorm, now)
			return err
		}},
		{Name: "sla", Spec: "@every 30s", Quiet: true, Fn: func(ctx context.Context, now time.Time) error {
			// Warnings and breaches of the SLA clocks: marked on the card, written in the
			// activity, pushed live with a toast to the assignee and the team's supervisors.
			// Twice a minute, so a breach reaches open boards well within a minute (one
			// indexed query when nothing is due).
			_, err := inbox.CheckSLA(ctx, d.Pool, now)
			return err
		}},
		{Name: "reports.rollup", Spec: "@every 1m", Quiet: true, Fn: func(ctx context.Context, now time.Time) error {
			// Recomputes the figures of the cycles that changed since the last run, and
			// settles the cycles closed more than 24 h ago (their FCR is final).
			if deps.Reports == nil {
				return nil
			}
			_, err := deps.Reports.Rollup(ctx, now)
			return err
		}},
		{Name: "outbox.recover_stuck", Spec: "@every 1m", Fn: func(ctx context.Context, now time.Time) error {
			_, err := outbox.RecoverStuck(ctx, d.Gorm, 2*time.Minute)
			return err
		}},
		{Name: "outbox.expire_ambiguous", Spec: "@every 1m", Fn: func(ctx context.Context, now time.Time) error {
			_, err := outbox.ExpireAmbiguous(ctx, d.Gorm, 30*time.Minute)
			return err
		}},
		{Name: "outbox.purge", Spec: "@every 1h", Fn: func(ctx context.Context, now time.Time) error {
			_, err := outbox.PurgeFinished(ctx, d.Gorm, 30*24*time.Hour)
			return err
		}},
		{Name: "webhooks.retry_dead_letters", Spec: "@every 1m", Fn: func(ctx context.Context, now time.Time) error {
			// Meta does not resend what we acknowledged: items set aside are retried here,
			// with backoff, for 7 days.
			if deps.Ingest == nil {
				return nil
			}
			return RetryDeadLetters(ctx, deps.Ingest, now)
		}},
		{Name: "sessions.cleanup", Spec: "@every 15m", Fn: func(ctx context.Context, now time.Time) error {
			_, err := d.Pool.Exec(ctx, `DELETE FROM sessions WHERE expiry < $1`, now)
			return err
		}},
		{Name: "login_attempts.cleanup", Spec: "@every 1h", Fn: func(ctx context.Context, now time.Time) error {
			_, err := d.Pool.Exec(ctx, `DELETE FROM login_attempts WHERE created_at < $1`, now.Add(-24*time.Hour))
			return err
		}},
		{Name: "webhook_events.retention", Spec: "@every 1h", Fn: func(ctx context.Context, now time.Time) error {
			// Raw webhooks are kept 30 days: long enough to replay Meta's 7 days of retries and investigate.
			_, err := d.Pool.Exec(ctx, `DELETE FROM webhook_events WHERE received_at < $1`, now.Add(-30*24*time.Hour))
			return err
		}},
		{Name: "job_runs.cleanup", Spec: "@every 1h", Fn: func(ctx context.Context, now time.Time) error {
			_, err := d.Pool.Exec(ctx, `DELETE FROM job_runs WHERE started_at < $1`, now.Add(-7*24*time.Hour))
			return err
		}},
	}
	if deps.Templates != nil {
		js = append(js, Job{Name: "templates.sync", Spec: "@every 10m", Quiet: true, Fn: func(ctx context.Context, _ time.Time) error {
			// Each account once a day: approvals, rejections and new templates made in
			// WhatsApp Manager reach agents within a day (and a new server's, within minutes).
			return deps.Templates.SyncAll(ctx, 24*time.Hour)
		}})
	}
	if deps.Scheduled != nil {
		js = append(js, Job{Name: "scheduled.send", Spec: "@every 15s", Quiet: true, Fn: func(ctx context.Context, now time.Time) error {
			_, err := deps.Scheduled.SendDue(ctx, now)
			return err
		}})
	}
	if deps.Routing != nil {
		js = append(js, Job{Name: "routing.drain", Spec: "@every 1m", Quiet: true, Fn: func(ctx context.Context, _ time.Time) error {
			// A safety net: queues drain at once when an agent comes online or frees a chat.
			_, err := deps.Routing.DrainAll(ctx)
			return err
		}}, Job{Name: "routing.reassign", Spec: "@every 1m", Quiet: true, Fn: func(ctx context.Context, now time.Time) error {
			// Chats of agents offline past their team's grace, or silent past its limit, go back to the queue.
			n, err := deps.Routing.Reassign(ctx, now)
			if err == nil && n > 0 {
				_, err = deps.Routing.DrainAll(ctx)
			}
			return err
		}})
	}
	return js
}

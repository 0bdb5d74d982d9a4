// Package metrics owns the Prometheus registry of one process.
package metrics

import (
	"database/sql"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the process's Prometheus collectors.
type Metrics struct {
	Registry        *prometheus.Registry
	HTTPDuration    *prometheus.HistogramVec
	JobRuns         *prometheus.CounterVec
	JobDuration     *prometheus.HistogramVec
	WebhookMessages *prometheus.CounterVec
	OutboxSends     *prometheus.CounterVec
}

// New registers the collectors, including the pool stats of sqlDB when given.
// Use NewWithPool to also export the pgx pool that sessions, jobs and the outbox use.
func New(sqlDB *sql.DB) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "atiende_http_request_duration_seconds",
			Help:    "HTTP request latency by route, method and status.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "status"}),
		JobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atiende_job_runs_total",
			Help: "Cron job runs by job and result.",
		}, []string{"job", "result"}),
		JobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "atiende_job_duration_seconds",
			Help:    "Cron job duration.",
			Buckets: prometheus.DefBuckets,
		}, []string{"job"}),
		WebhookMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atiende_webhook_items_total",
			Help: "WhatsApp webhook items processed by kind (message, status, duplicate).",
		}, []string{"kind"}),
		OutboxSends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atiende_outbox_sends_total",
			Help: "Graph API calls from the outbox by result.",
		}, []string{"result"}),
	}
	r.MustRegister(m.HTTPDuration, m.JobRuns, m.JobDuration, m.WebhookMessages, m.OutboxSends,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if sqlDB != nil {
		r.MustRegister(collectors.NewDBStatsCollector(sqlDB, "atiende"))
	}
	return m
}

// WatchPool exports the pgx pool's statistics as atiende_db_* gauges.
func (m *Metrics) WatchPool(pool *pgxpool.Pool) {
	m.Registry.MustRegister(poolCollector{pool})
}

type poolCollector struct{ pool *pgxpool.Pool }

var (
	poolTotal    = prometheus.NewDesc("atiende_db_connections", "Open connections in the PostgreSQL pool.", nil, nil)
	poolIdle     = prometheus.NewDesc("atiende_db_connections_idle", "Idle connections in the PostgreSQL pool.", nil, nil)
	poolInUse    = prometheus.NewDesc("atiende_db_connections_in_use", "Connections in use in the PostgreSQL pool.", nil, nil)
	poolMax      = prometheus.NewDesc("atiende_db_connections_max", "Maximum connections of the PostgreSQL pool.", nil, nil)
	poolWaits    = prometheus.NewDesc("atiende_db_acquire_waits_total", "Times a request waited for a free connection.", nil, nil)
	poolWaitSecs = prometheus.NewDesc("atiende_db_acquire_wait_seconds_total", "Time spent waiting for a free connection.", nil, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolTotal, poolIdle, poolInUse, poolMax, poolWaits, poolWaitSecs} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(st.TotalConns()))
	ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(st.IdleConns()))
	ch <- prometheus.MustNewConstMetric(poolInUse, prometheus.GaugeValue, float64(st.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(st.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(st.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWaitSecs, prometheus.CounterValue, st.AcquireDuration().Seconds())
}

// Package web is the HTTP side of Atiende: the echo server, its middleware, one file
// per screen, and the JSON API.
package web

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/config"
	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/ingest"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/app/metrics"
	"github.com/atiende/atiende/app/services"
)

// Server holds the dependencies every handler uses.
type Server struct {
	Config   config.Config
	DB       *db.DB
	Clock    clock.Clock
	Logger   *slog.Logger
	Metrics  *metrics.Metrics
	Sessions *scs.SessionManager
	Accounts *accounts.Service
	Channels *channels.Service
	Inbox    *inbox.Service
	Ingest   *ingest.Ingester
	Hub      *live.Hub
	// Services are every domain service, built once (services.New) for this process.
	Services *services.Services

	// cache keeps board reads and signed-in viewers while their workspace is unchanged.
	cache *live.Cache
	// Ready reports whether background parts (jobs) are healthy; nil means yes.
	Ready func(ctx context.Context) error

	chCache channelCache
	// boardGate lets a few board reads work at once (see gateBoard).
	boardGate chan struct{}
}

// gcPercent is the garbage collector's target for a web process unless GOGC says
// otherwise: a board answer allocates its cards and markup and drops them at once, and
// at Go's default (100) collecting took about a tenth of the server's CPU on a busy
// board. At 300 it takes a third of that, for a heap three times its live size (the
// webhook bench's process peaks at 40 MB either way).
const gcPercent = 300

func setGCTarget() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// Deps are what New needs; the rest is built from them.
type Deps struct {
	Config  config.Config
	DB      *db.DB
	Clock   clock.Clock
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// Hub is the process's live event hub (nil: the server starts one when Start is called).
	Hub *live.Hub
	// Services, when set, are the process's services (serve shares them with its jobs);
	// nil builds them from the fields above.
	Services *services.Services
}

// New builds the Server and its echo instance.
func New(d Deps) (*Server, *echo.Echo) {
	setGCTarget()
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	svc := d.Services
	if svc == nil {
		var err error
		if svc, err = services.New(d.Config, d.DB, d.Clock, d.Logger, d.Metrics); err != nil {
			panic(err) // config.Load guarantees a 32-byte key
		}
	}
	sm := scs.New()
	sm.Store = pgxstore.NewWithCleanupInterval(d.DB.Pool, 0) // the sessions job cleans up
	sm.Lifetime = 30 * 24 * time.Hour
	// No sm.IdleTimeout: it rewrites the session on every request (see checkIdle).
	sm.Cookie.Name = "atiende_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = d.Config.Production()
	sm.Cookie.Path = "/"
	s := &Server{
		Config:   svc.Config,
		DB:       svc.DB,
		Clock:    svc.Clock,
		Logger:   svc.Logger,
		Metrics:  svc.Metrics,
		Sessions: sm,
		Accounts: svc.Accounts,
		Channels: svc.Channels,
		Inbox:    svc.Inbox,
		Ingest:   svc.Ingest,
		Hub:      d.Hub,
		Services: svc,
	}
	if s.Hub == nil {
		s.Hub = live.NewHub(d.DB.URL, s.Logger)
	}
	// Nothing cached outlives a change this process makes or hears of; what no event
	// announces (another process's settings change, a sliding window) lasts 5 s at most.
	s.cache = live.NewCache(s.Hub, 5*time.Second, 20_000)
	s.boardGate = make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	s.Inbox.EnableBoardCache(s.cache)
	s.Services.CRM.EnableCache(s.cache)
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = clientIP(d.Config.TrustedProxies)
	s.routes(e)
	return s, e
}

// Run runs what the web server needs in the background (the live hub's LISTEN
// connection) until ctx ends.
func (s *Server) Run(ctx context.Context) { s.Hub.Run(ctx) }

// clientIP believes X-Forwarded-For only from the configured proxies (TRUSTED_PROXIES);
// without them the peer address is the client's, whatever the headers say.
func clientIP(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// MetricsHandler serves Prometheus metrics; with METRICS_TOKEN set it answers 401
// unless the request carries "Authorization: Bearer" that token.
func (s *Server) MetricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})
	want := s.Config.MetricsToken
	if want == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "unauthorized: /metrics needs Authorization: Bearer METRICS_TOKEN", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

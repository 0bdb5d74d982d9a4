// Package config turns the process environment into a validated Config.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Environments Atiende knows about.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Default values, as documented in the README.
const (
	DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/atiende?sslmode=disable"
	DefaultPort        = 8080
	DefaultGraphURL    = "https://graph.facebook.com/v25.0"
	// developmentSecretKey is only accepted outside production, so a newcomer can run the
	// demo without generating a key; production refuses to start with it.
	developmentSecretKey = "atiende-development-key-change-me"
)

// Config is everything the process reads from its environment.
type Config struct {
	DatabaseURL string
	Port        int
	GraphURL    string
	SecretKey   []byte // 32 bytes, derived from ATIENDE_SECRET_KEY
	Env         string
	LogLevel    slog.Level
	// TrustedProxies are the load balancers whose X-Forwarded-For is believed
	// (TRUSTED_PROXIES, comma-separated CIDRs); empty: the peer address is the client's.
	TrustedProxies []*net.IPNet
	// MetricsToken, when set, is required as "Authorization: Bearer" on /metrics.
	MetricsToken string
	// MetricsAddr, when set (e.g. 127.0.0.1:9100), serves /metrics only there.
	MetricsAddr string
}

// MetricsProtected reports whether /metrics needs a token or is served apart;
// production refuses to serve it open.
func (c Config) MetricsProtected() bool { return c.MetricsToken != "" || c.MetricsAddr != "" }

// Production reports whether the process runs with ATIENDE_ENV=production.
func (c Config) Production() bool { return c.Env == EnvProduction }

// FakeGraph reports whether the Graph API is a local fake (the UI then shows "Modo demo").
func (c Config) FakeGraph() bool {
	u, err := url.Parse(c.GraphURL)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || h == "127.0.0.1" || h == "::1" || strings.HasSuffix(h, ".localhost")
}

// Load reads the configuration through getenv (os.Getenv in main, a map in tests)
// and validates it.
func Load(getenv func(string) string) (Config, error) {
	var errs []string
	c := Config{
		DatabaseURL: orDefault(getenv("DATABASE_URL"), DefaultDatabaseURL),
		GraphURL:    strings.TrimRight(orDefault(getenv("WHATSAPP_GRAPH_URL"), DefaultGraphURL), "/"),
		Env:         orDefault(getenv("ATIENDE_ENV"), EnvDevelopment),
		Port:        DefaultPort,
	}
	if p := getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			errs = append(errs, fmt.Sprintf("PORT=%q is not a port number (1-65535)", p))
		}
		c.Port = n
	}
	switch lvl := strings.ToLower(getenv("LOG_LEVEL")); lvl {
	case "", "info":
		c.LogLevel = slog.LevelInfo
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		errs = append(errs, fmt.Sprintf("LOG_LEVEL=%q must be one of debug, info, warn, error", lvl))
	}
	for _, p := range strings.Split(getenv("TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			errs = append(errs, fmt.Sprintf("TRUSTED_PROXIES: %q is not an address or CIDR range (e.g. 10.0.0.0/8,192.168.1.10)", p))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, n)
	}
	c.MetricsToken = strings.TrimSpace(getenv("METRICS_TOKEN"))
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		errs = append(errs, "METRICS_TOKEN must be at least 16 characters")
	}
	c.MetricsAddr = strings.TrimSpace(getenv("METRICS_ADDR"))
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Sprintf("METRICS_ADDR=%q must be host:port, e.g. 127.0.0.1:9100", c.MetricsAddr))
		}
	}
	key := getenv("ATIENDE_SECRET_KEY")
	if key == "" && c.Env != EnvProduction {
		key = developmentSecretKey
	}
	k, err := parseKey(key)
	if err != nil {
		errs = append(errs, err.Error())
	}
	c.SecretKey = k
	if err := c.validate(); err != nil {
		errs = append(errs, err.Error())
	}
	if c.Env == EnvProduction && key == developmentSecretKey {
		errs = append(errs, "ATIENDE_SECRET_KEY must be set to your own secret in production")
	}
	if len(errs) > 0 {
		return c, errors.New("invalid configuration: " + strings.Join(errs, "; ") +
			". Fix the environment variables (see the Configuration table in README.md) and start again.")
	}
	return c, nil
}

func (c Config) validate() error {
	var errs []string
	u, err := url.Parse(c.DatabaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		errs = append(errs, "DATABASE_URL must look like postgres://user@host:5432/dbname?sslmode=disable")
	} else if strings.Trim(u.Path, "/") == "" {
		errs = append(errs, "DATABASE_URL must name a database (postgres://user@host:5432/atiende)")
	}
	g, err := url.Parse(c.GraphURL)
	if err != nil || (g.Scheme != "http" && g.Scheme != "https") || g.Host == "" {
		errs = append(errs, fmt.Sprintf("WHATSAPP_GRAPH_URL=%q must be an http(s) URL", c.GraphURL))
	}
	if c.Env != EnvDevelopment && c.Env != EnvProduction {
		errs = append(errs, fmt.Sprintf("ATIENDE_ENV=%q must be development or production", c.Env))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// parseKey accepts 32 bytes as hex or base64, or any passphrase of 16+ characters
// (stretched with SHA-256 by the crypto package's caller).
func parseKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if len(s) >= 16 {
		return deriveKey(s), nil
	}
	return nil, errors.New("ATIENDE_SECRET_KEY must be 32 bytes in hex or base64, or a passphrase of at least 16 characters")
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

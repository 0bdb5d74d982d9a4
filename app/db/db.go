// Package db opens PostgreSQL (one pgx pool shared by GORM, sessions and LISTEN),
// creates the database when it is missing and applies the embedded migrations.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/atiende/atiende/migrations"
)

// DB bundles the handles every part of the app shares.
type DB struct {
	URL  string
	Pool *pgxpool.Pool
	SQL  *sql.DB
	Gorm *gorm.DB

	// Reads is a few more connections that keep one plan per statement
	// (plan_cache_mode = force_generic_plan), for the board's reads: planning their
	// joins took longer than running them, on every request. Only statements whose
	// generic plan was checked against the custom one go through it (see inbox).
	Reads *gorm.DB

	readPool *pgxpool.Pool
}

// ErrUnreachable wraps a failure to reach the PostgreSQL server at all.
var ErrUnreachable = errors.New("database unreachable")

// Open connects to url. It does not create the database: see EnsureDatabase.
func Open(ctx context.Context, dbURL string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL is not valid: %w", err)
	}
	if !strings.Contains(dbURL, "pool_max_conns") {
		// A few connections per core: more only queue inside PostgreSQL, where 20
		// backends on two cores switch among themselves and wait on each other's locks
		// (in the first-message bench, 8 let 256–365 first messages/s through where 20
		// let 237–248); waiting for a free connection in the pool costs nothing.
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	// Short OLTP queries: starting parallel workers costs more than it saves under load.
	cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, explain(dbURL, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, explain(dbURL, err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	g, err := openGorm(sqlDB)
	if err != nil {
		pool.Close()
		return nil, err
	}
	rcfg := cfg.Copy()
	rcfg.MaxConns = int32(max(4, 2*runtime.GOMAXPROCS(0)))
	rcfg.MinConns = 0
	rcfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	readPool, err := pgxpool.NewWithConfig(ctx, rcfg)
	if err != nil {
		pool.Close()
		return nil, explain(dbURL, err)
	}
	reads, err := openGorm(stdlib.OpenDBFromPool(readPool))
	if err != nil {
		pool.Close()
		readPool.Close()
		return nil, err
	}
	return &DB{URL: dbURL, Pool: pool, SQL: sqlDB, Gorm: g, Reads: reads, readPool: readPool}, nil
}

func openGorm(sqlDB *sql.DB) (*gorm.DB, error) {
	return gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		TranslateError:         true,
	})
}

// Close releases every connection.
func (d *DB) Close() {
	_ = d.SQL.Close()
	d.Pool.Close()
	if d.readPool != nil {
		if sqlDB, err := d.Reads.DB(); err == nil {
			_ = sqlDB.Close()
		}
		d.readPool.Close()
	}
}

// EnsureDatabase creates the database named in dbURL when it does not exist yet,
// connecting to the server's "postgres" maintenance database to do so.
func EnsureDatabase(ctx context.Context, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL is not valid: %w", err)
	}
	name := strings.Trim(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, admin.String())
	if err != nil {
		return explain(dbURL, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created meanwhile by another process
		return nil
	}
	if err == nil {
		slog.Info("created database", "name", name)
	}
	return err
}

// Migrate applies every pending migration.
func Migrate(ctx context.Context, sqlDB *sql.DB) error {
	p, err := provider(sqlDB)
	if err != nil {
		return err
	}
	res, err := p.Up(ctx)
	for _, r := range res {
		slog.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return err
}

// Pending reports how many migrations are not applied yet (readiness uses it).
func Pending(ctx context.Context, sqlDB *sql.DB) (int, error) {
	p, err := provider(sqlDB)
	if err != nil {
		return 0, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range st {
		if s.State == goose.StatePending {
			n++
		}
	}
	return n, nil
}

func provider(sqlDB *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations.FS, ".")
	if err != nil {
		return nil, err
	}
	// Migrations written on parallel branches land with numbers below ones already
	// applied: they are applied too (each is written to be independent).
	return goose.NewProvider(goose.DialectPostgres, sqlDB, sub, goose.WithAllowOutofOrder(true))
}

// explain turns a connection failure into a sentence an operator can act on.
func explain(dbURL string, err error) error {
	safe := dbURL
	if u, perr := url.Parse(dbURL); perr == nil {
		safe = u.Redacted()
	}
	return fmt.Errorf("%w: cannot connect to PostgreSQL at %s (%v). Check that PostgreSQL is running and that DATABASE_URL points to it; `make run` starts a local one for you", ErrUnreachable, safe, rootCause(err))
}

func rootCause(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Message
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		msg := ce.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			return msg[i+2:]
		}
		return msg
	}
	return err.Error()
}

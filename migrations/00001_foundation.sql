-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE workspaces (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    timezone    text NOT NULL DEFAULT 'America/Lima',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX workspaces_name_key ON workspaces (lower(name));

CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    workspace_id    bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email           text NOT NULL,
    name            text NOT NULL,
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('admin','supervisor','agent')),
    active          boolean NOT NULL DEFAULT true,
    max_concurrent  integer NOT NULL DEFAULT 10 CHECK (max_concurrent >= 0),
    presence        text NOT NULL DEFAULT 'offline' CHECK (presence IN ('online','busy','offline')),
    last_seen_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_workspace_email_key ON users (workspace_id, lower(email));
CREATE INDEX users_email_idx ON users (lower(email));

CREATE TABLE teams (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          text NOT NULL,
    color         text NOT NULL DEFAULT '#2563eb',
    routing_mode  text NOT NULL DEFAULT 'manual' CHECK (routing_mode IN ('manual','round_robin','least_busy')),
    calendar_id   bigint,
    sla_policy_id bigint,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX teams_workspace_name_key ON teams (workspace_id, lower(name));
CREATE UNIQUE INDEX teams_id_workspace_key ON teams (id, workspace_id);
CREATE UNIQUE INDEX users_id_workspace_key ON users (id, workspace_id);

CREATE TABLE team_members (
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    team_id       bigint NOT NULL,
    user_id       bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (team_id, workspace_id) REFERENCES teams (id, workspace_id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, workspace_id) REFERENCES users (id, workspace_id) ON DELETE CASCADE
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

-- scs session store (pgxstore layout).
CREATE TABLE sessions (
    token   text PRIMARY KEY,
    data    bytea NOT NULL,
    expiry  timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

CREATE TABLE login_attempts (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL,
    ip          text NOT NULL,
    succeeded   boolean NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_email_idx ON login_attempts (lower(email), created_at);
CREATE INDEX login_attempts_ip_idx ON login_attempts (ip, created_at);

CREATE TABLE audit_events (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id       bigint REFERENCES users(id) ON DELETE SET NULL,
    action        text NOT NULL,
    target_type   text NOT NULL DEFAULT '',
    target_id     bigint,
    data          jsonb NOT NULL DEFAULT '{}',
    ip            text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_workspace_idx ON audit_events (workspace_id, created_at DESC);

CREATE TABLE api_tokens (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          text NOT NULL DEFAULT '',
    token_hash    bytea NOT NULL UNIQUE,
    token_prefix  text NOT NULL,
    last_used_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

-- One row per job execution: the run log, and the proof that one process ran it.
CREATE TABLE job_runs (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    host         text NOT NULL,
    started_at   timestamptz NOT NULL,
    duration_ms  integer NOT NULL,
    error        text NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_name_idx ON job_runs (name, started_at DESC);

-- +goose Down
DROP TABLE job_runs, api_tokens, audit_events, login_attempts, sessions, team_members, teams, users, workspaces;

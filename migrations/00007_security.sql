-- +goose Up
-- Account security: session epochs, two-factor sign-in, an atomic login throttle, and
-- an audit log that admins can read.

-- Every session remembers the epoch it was signed in at; changing or resetting the
-- password moves the epoch on, which ends every session signed in before it.
ALTER TABLE users ADD COLUMN session_epoch bigint NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN two_factor_enabled boolean NOT NULL DEFAULT false;

ALTER TABLE workspaces ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false;

-- The TOTP secret (sealed with ATIENDE_SECRET_KEY). A row without confirmed_at is an
-- enrolment in progress.
CREATE TABLE user_totp (
    user_id       bigint PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    secret        bytea NOT NULL,
    confirmed_at  timestamptz,
    last_step     bigint NOT NULL DEFAULT 0, -- the last 30 s step accepted: a code works once
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (user_id, workspace_id) REFERENCES users (id, workspace_id) ON DELETE CASCADE
);

-- One-time recovery codes: only their SHA-256 is kept.
CREATE TABLE user_recovery_codes (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id       bigint NOT NULL,
    code_hash     bytea NOT NULL,
    used_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (user_id, workspace_id) REFERENCES users (id, workspace_id) ON DELETE CASCADE
);
CREATE INDEX user_recovery_codes_user_idx ON user_recovery_codes (user_id);

-- Wrong second-factor codes count against the same limits as wrong passwords.
ALTER TABLE login_attempts ADD COLUMN kind text NOT NULL DEFAULT 'password';

-- Audit: where the change came from (web, api, cli, job) and the screens' filters.
ALTER TABLE audit_events ADD COLUMN source text NOT NULL DEFAULT '';
CREATE INDEX audit_events_user_idx ON audit_events (workspace_id, user_id, created_at DESC, id DESC);
CREATE INDEX audit_events_action_idx ON audit_events (workspace_id, action, created_at DESC, id DESC);

-- +goose Down
DROP INDEX audit_events_action_idx;
DROP INDEX audit_events_user_idx;
ALTER TABLE audit_events DROP COLUMN source;
ALTER TABLE login_attempts DROP COLUMN kind;
DROP TABLE user_recovery_codes, user_totp;
ALTER TABLE workspaces DROP COLUMN require_two_factor;
ALTER TABLE users DROP COLUMN two_factor_enabled, DROP COLUMN session_epoch;

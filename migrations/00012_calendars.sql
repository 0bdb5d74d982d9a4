-- +goose Up
-- Business calendars: opening hours in a time zone (several intervals a day) and
-- holidays. A team's calendar measures its business time (metrics.md).
CREATE TABLE calendars (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          text NOT NULL,
    timezone      text NOT NULL,
    hours         jsonb NOT NULL DEFAULT '{}',
    holidays      jsonb NOT NULL DEFAULT '[]',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX calendars_workspace_name_key ON calendars (workspace_id, lower(name));

-- +goose Down
DROP TABLE calendars;

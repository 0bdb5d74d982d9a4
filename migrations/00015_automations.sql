-- +goose Up
-- Automations (issue 9): "when … then …" rules an admin defines. A rule fires on a
-- trigger (a lead enters a stage, a conversation is closed, a label is added) and runs
-- one action (assign, add a label, create a task, send a template, move the lead), in
-- the same transaction as the change that triggered it. Rules fire in position order.
CREATE TABLE automations (
    id              bigserial PRIMARY KEY,
    workspace_id    bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name            text NOT NULL,
    trigger_kind    text NOT NULL CHECK (trigger_kind IN ('lead_stage','conversation_closed','label_added')),
    trigger_params  jsonb NOT NULL DEFAULT '{}',
    action_kind     text NOT NULL CHECK (action_kind IN ('assign','add_label','create_task','send_template','move_lead')),
    action_params   jsonb NOT NULL DEFAULT '{}',
    position        integer NOT NULL DEFAULT 0,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX automations_workspace_name_key ON automations (workspace_id, lower(name));
CREATE INDEX automations_workspace_trigger_idx ON automations (workspace_id, trigger_kind, position, id) WHERE active;

-- One line per run: what fired, on what, and what it did (or why it did nothing).
CREATE TABLE automation_runs (
    id               bigserial PRIMARY KEY,
    workspace_id     bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    automation_id    bigint NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
    conversation_id  bigint REFERENCES conversations(id) ON DELETE SET NULL,
    lead_id          bigint REFERENCES leads(id) ON DELETE SET NULL,
    outcome          text NOT NULL DEFAULT '',
    ok               boolean NOT NULL DEFAULT true,
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX automation_runs_automation_idx ON automation_runs (automation_id, at DESC);

-- +goose Down
DROP TABLE automation_runs;
DROP TABLE automations;

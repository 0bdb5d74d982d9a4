-- +goose Up
-- Sales pipelines with ordered stages; each workspace has one default pipeline.
CREATE TABLE pipelines (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          text NOT NULL,
    currency      text NOT NULL DEFAULT 'USD',
    position      int NOT NULL DEFAULT 0,
    is_default    boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX pipelines_name_idx ON pipelines (workspace_id, lower(name));
CREATE UNIQUE INDEX pipelines_default_idx ON pipelines (workspace_id) WHERE is_default;

CREATE TABLE stages (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    pipeline_id   bigint NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    name          text NOT NULL,
    position      int NOT NULL,
    probability   int NOT NULL DEFAULT 0 CHECK (probability BETWEEN 0 AND 100),
    kind          text NOT NULL DEFAULT 'open' CHECK (kind IN ('open', 'won', 'lost')),
    rot_days      int CHECK (rot_days IS NULL OR rot_days > 0),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX stages_name_idx ON stages (pipeline_id, lower(name));
CREATE INDEX stages_pipeline_idx ON stages (pipeline_id, position);

-- A lead (oportunidad): a possible sale to a contact, usually born in a conversation.
-- Like messages, leads are written on the webhook's path (automatic leads): no foreign
-- keys to the workspace, pipeline and stage rows every insert would share-lock (the
-- service keeps stages with leads from being removed).
CREATE TABLE leads (
    id               bigserial PRIMARY KEY,
    workspace_id     bigint NOT NULL,
    pipeline_id      bigint NOT NULL,
    stage_id         bigint NOT NULL,
    title            text NOT NULL,
    value            numeric(15,2) NOT NULL DEFAULT 0 CHECK (value >= 0),
    currency         text NOT NULL,
    contact_id       bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    owner_id         bigint REFERENCES users(id) ON DELETE SET NULL,
    conversation_id  bigint REFERENCES conversations(id) ON DELETE SET NULL,
    cycle_id         bigint REFERENCES cycles(id) ON DELETE SET NULL,
    expected_close   date,
    lost_reason      text NOT NULL DEFAULT '',
    stage_changed_at timestamptz NOT NULL,
    closed_at        timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
-- A board column, newest move first (keyset "Cargar más").
CREATE INDEX leads_column_idx ON leads (stage_id, stage_changed_at DESC, id DESC);
-- The board's per-stage totals read this index alone (index-only scan).
CREATE INDEX leads_totals_idx ON leads (pipeline_id, stage_id, currency) INCLUDE (workspace_id, value, owner_id, expected_close);
CREATE INDEX leads_conversation_idx ON leads (conversation_id) WHERE conversation_id IS NOT NULL;
CREATE INDEX leads_contact_idx ON leads (contact_id);
CREATE INDEX leads_owner_idx ON leads (workspace_id, owner_id);

-- A lead's timeline: created, stage changes (who, when, from → to), edits.
CREATE TABLE lead_events (
    id             bigserial PRIMARY KEY,
    workspace_id   bigint NOT NULL,
    lead_id        bigint NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
    kind           text NOT NULL,
    at             timestamptz NOT NULL,
    actor_kind     text NOT NULL DEFAULT '',
    user_id        bigint REFERENCES users(id) ON DELETE SET NULL,
    from_stage_id  bigint,
    to_stage_id    bigint,
    note           text NOT NULL DEFAULT ''
);
CREATE INDEX lead_events_lead_idx ON lead_events (lead_id, at, id);

-- Next steps with a due time, on a lead or a contact.
CREATE TABLE tasks (
    id           bigserial PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('call', 'demo', 'visit', 'follow_up')),
    title        text NOT NULL DEFAULT '',
    due_at       timestamptz NOT NULL,
    assignee_id  bigint NOT NULL REFERENCES users(id),
    lead_id      bigint REFERENCES leads(id) ON DELETE CASCADE,
    contact_id   bigint REFERENCES contacts(id) ON DELETE CASCADE,
    created_by   bigint REFERENCES users(id) ON DELETE SET NULL,
    done_at      timestamptz,
    done_by      bigint REFERENCES users(id) ON DELETE SET NULL,
    notified_at  timestamptz,
    created_at   timestamptz NOT NULL,
    CHECK (lead_id IS NOT NULL OR contact_id IS NOT NULL)
);
CREATE INDEX tasks_assignee_idx ON tasks (assignee_id, due_at) WHERE done_at IS NULL;
CREATE INDEX tasks_due_idx ON tasks (due_at) WHERE done_at IS NULL AND notified_at IS NULL;
CREATE INDEX tasks_lead_idx ON tasks (lead_id) WHERE lead_id IS NOT NULL;
CREATE INDEX tasks_contact_idx ON tasks (contact_id) WHERE contact_id IS NOT NULL;

-- Optional per channel: a new conversation opens a lead in this pipeline's first stage.
ALTER TABLE channels ADD COLUMN auto_lead_pipeline_id bigint REFERENCES pipelines(id) ON DELETE SET NULL;

-- +goose Down
ALTER TABLE channels DROP COLUMN auto_lead_pipeline_id;
DROP TABLE tasks;
DROP TABLE lead_events;
DROP TABLE leads;
DROP TABLE stages;
DROP TABLE pipelines;

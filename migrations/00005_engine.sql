-- +goose Up
-- Who acted, for every conversation event: a user (web), an API token's user, routing,
-- the SLA job, the importer, the system, or the customer.
ALTER TABLE conversation_events ADD COLUMN actor_kind text NOT NULL DEFAULT '';

-- Activity lines in the history are rendered from the event they show, never stored as
-- sentences: the line points at its event.
ALTER TABLE messages ADD COLUMN event_id bigint;

-- Delivery statuses belong to a workspace like every other domain row.
ALTER TABLE message_statuses ADD COLUMN workspace_id bigint;
UPDATE message_statuses s SET workspace_id = ch.workspace_id FROM channels ch WHERE ch.id = s.channel_id;
DELETE FROM message_statuses WHERE workspace_id IS NULL;
ALTER TABLE message_statuses ALTER COLUMN workspace_id SET NOT NULL;

-- The history importer's memory: one row per applied event line, so a rerun skips it.
CREATE TABLE import_keys (
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    key           text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, key)
);

-- Closed conversations by the day they closed, for the API's from/to window.
CREATE INDEX IF NOT EXISTS cycles_workspace_closed_idx ON cycles (workspace_id, closed_at) WHERE closed_at IS NOT NULL;

-- +goose Down
DROP INDEX IF EXISTS cycles_workspace_closed_idx;
DROP TABLE import_keys;
ALTER TABLE message_statuses DROP COLUMN workspace_id;
ALTER TABLE messages DROP COLUMN event_id;
ALTER TABLE conversation_events DROP COLUMN actor_kind;

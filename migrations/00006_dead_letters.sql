-- +goose Up
-- Customers who use a WhatsApp username may write without a phone number: Meta then
-- identifies them by a business-scoped user id ("user.…"). A contact has a wa_id, a
-- user id, or both (the phone is attached when a later payload reveals it).
ALTER TABLE contacts ADD COLUMN user_id text NOT NULL DEFAULT '',
    ADD COLUMN username text NOT NULL DEFAULT '';
DROP INDEX contacts_workspace_wa_id_key;
CREATE UNIQUE INDEX contacts_workspace_wa_id_key ON contacts (workspace_id, wa_id) WHERE wa_id <> '';
CREATE UNIQUE INDEX contacts_workspace_user_id_key ON contacts (workspace_id, user_id) WHERE user_id <> '';
ALTER TABLE contacts ADD CONSTRAINT contacts_identified CHECK (wa_id <> '' OR user_id <> '') NOT VALID;

-- The recipient a status names, so a send recovered after a crash can take the
-- statuses Meta posted for it meanwhile.
ALTER TABLE message_statuses ADD COLUMN recipient text NOT NULL DEFAULT '';
CREATE INDEX message_statuses_recipient_idx ON message_statuses (channel_id, recipient, at) WHERE recipient <> '';

-- What each webhook delivery came to (Configuración → Webhooks).
ALTER TABLE webhook_events ADD COLUMN messages integer NOT NULL DEFAULT 0,
    ADD COLUMN statuses integer NOT NULL DEFAULT 0,
    ADD COLUMN duplicates integer NOT NULL DEFAULT 0,
    ADD COLUMN failed integer NOT NULL DEFAULT 0;
CREATE INDEX webhook_events_workspace_idx ON webhook_events (workspace_id, received_at DESC);

-- One webhook item (a message or a status) that could not be applied: kept with its
-- raw JSON (bytea: it may hold what jsonb refuses) and retried with backoff for 7 days.
-- Meta does not resend what was acknowledged, so this is the only way back.
CREATE TABLE webhook_dead_letters (
    id             bigserial PRIMARY KEY,
    workspace_id   bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    channel_id     bigint NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('message','status')),
    item_id        text NOT NULL DEFAULT '',
    payload        bytea NOT NULL,
    error          text NOT NULL,
    received_at    timestamptz NOT NULL,
    attempts       integer NOT NULL DEFAULT 1,
    last_tried_at  timestamptz NOT NULL,
    next_retry_at  timestamptz,
    resolved_at    timestamptz
);
CREATE INDEX webhook_dead_letters_workspace_idx ON webhook_dead_letters (workspace_id, received_at DESC);
CREATE INDEX webhook_dead_letters_due_idx ON webhook_dead_letters (next_retry_at) WHERE resolved_at IS NULL;

-- +goose Down
DROP TABLE webhook_dead_letters;
DROP INDEX webhook_events_workspace_idx;
ALTER TABLE webhook_events DROP COLUMN messages, DROP COLUMN statuses, DROP COLUMN duplicates, DROP COLUMN failed;
DROP INDEX message_statuses_recipient_idx;
ALTER TABLE message_statuses DROP COLUMN recipient;
ALTER TABLE contacts DROP CONSTRAINT contacts_identified;
DROP INDEX contacts_workspace_user_id_key;
DROP INDEX contacts_workspace_wa_id_key;
CREATE UNIQUE INDEX contacts_workspace_wa_id_key ON contacts (workspace_id, wa_id);
ALTER TABLE contacts DROP COLUMN user_id, DROP COLUMN username;

-- +goose Up
-- Attachments: files agents send are kept in media like the ones customers send.
-- upload_id is the id the Graph API gave the file when the sender uploaded it (media
-- ids stay valid for 30 days, so a retried send reuses it); outbox.media_row_id says
-- which file a send must upload before it goes out.
ALTER TABLE media ADD COLUMN upload_id text NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN outgoing boolean NOT NULL DEFAULT false;
ALTER TABLE outbox ADD COLUMN media_row_id bigint REFERENCES media(id) ON DELETE SET NULL;

-- Templates synchronised from each channel's WhatsApp Business Account. Hand-registered
-- templates keep waba_id '' and status 'approved'.
ALTER TABLE templates ADD COLUMN waba_id text NOT NULL DEFAULT '';
ALTER TABLE templates ADD COLUMN meta_id text NOT NULL DEFAULT '';
ALTER TABLE templates ADD COLUMN status text NOT NULL DEFAULT 'approved';
ALTER TABLE templates ADD COLUMN components jsonb;
ALTER TABLE templates ADD COLUMN synced_at timestamptz;
DROP INDEX templates_workspace_name_lang_key;
CREATE UNIQUE INDEX templates_workspace_waba_name_lang_key ON templates (workspace_id, waba_id, name, language);

-- Replies an agent wrote to go out later.
CREATE TABLE scheduled_messages (
    id               bigserial PRIMARY KEY,
    workspace_id     bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id          bigint REFERENCES users(id) ON DELETE SET NULL,
    body             text NOT NULL,
    send_at          timestamptz NOT NULL,
    state            text NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled','sent','held','cancelled','failed')),
    message_id       bigint REFERENCES messages(id) ON DELETE SET NULL,
    note             text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scheduled_messages_due_idx ON scheduled_messages (send_at) WHERE state = 'scheduled';
CREATE INDEX scheduled_messages_conversation_idx ON scheduled_messages (conversation_id, send_at);

-- +goose Down
DROP TABLE scheduled_messages;
DROP INDEX templates_workspace_waba_name_lang_key;
CREATE UNIQUE INDEX templates_workspace_name_lang_key ON templates (workspace_id, name, language);
ALTER TABLE templates DROP COLUMN waba_id, DROP COLUMN meta_id, DROP COLUMN status, DROP COLUMN components, DROP COLUMN synced_at;
ALTER TABLE outbox DROP COLUMN media_row_id;
ALTER TABLE media DROP COLUMN upload_id, DROP COLUMN outgoing;

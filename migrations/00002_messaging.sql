-- +goose Up
CREATE TABLE channels (
    id                bigserial PRIMARY KEY,
    workspace_id      bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name              text NOT NULL,
    phone_number_id   text NOT NULL,
    display_phone     text NOT NULL DEFAULT '',
    waba_id           text NOT NULL DEFAULT '',
    access_token_enc  bytea,
    app_secret_enc    bytea,
    verify_token_enc  bytea,
    -- webhook_key is the unguessable part of the per-channel webhook path.
    webhook_key       text NOT NULL UNIQUE,
    active            boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX channels_phone_number_id_key ON channels (phone_number_id);
CREATE UNIQUE INDEX channels_workspace_name_key ON channels (workspace_id, lower(name));

-- Every webhook POST as received, kept because Meta offers no way to fetch it again.
CREATE TABLE webhook_events (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL,
    channel_id    bigint NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    received_at   timestamptz NOT NULL DEFAULT now(),
    body          bytea NOT NULL
);
CREATE INDEX webhook_events_received_idx ON webhook_events (received_at);

CREATE TABLE contacts (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    wa_id         text NOT NULL,
    phone         text NOT NULL DEFAULT '',
    country       text NOT NULL DEFAULT '',
    name          text NOT NULL DEFAULT '',
    profile_name  text NOT NULL DEFAULT '',
    company       text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    owner_id      bigint REFERENCES users(id) ON DELETE SET NULL,
    custom        jsonb NOT NULL DEFAULT '{}',
    referral      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX contacts_workspace_wa_id_key ON contacts (workspace_id, wa_id);

CREATE TABLE labels (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          text NOT NULL,
    color         text NOT NULL DEFAULT '#64748b',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX labels_workspace_name_key ON labels (workspace_id, lower(name));

CREATE TABLE conversations (
    id                     bigserial PRIMARY KEY,
    workspace_id           bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    channel_id             bigint NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    contact_id             bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    status                 text NOT NULL DEFAULT 'new' CHECK (status IN ('new','active','pending','closed')),
    team_id                bigint REFERENCES teams(id) ON DELETE SET NULL,
    assignee_id            bigint REFERENCES users(id) ON DELETE SET NULL,
    cycle_id               bigint,
    last_message_at        timestamptz,
    last_message_preview   text NOT NULL DEFAULT '',
    last_message_out       boolean NOT NULL DEFAULT false,
    last_inbound_at        timestamptz,
    waiting_since          timestamptz,
    unread_count           integer NOT NULL DEFAULT 0,
    close_reason           text NOT NULL DEFAULT '',
    closed_at              timestamptz,
    first_response_due_at  timestamptz,
    next_response_due_at   timestamptz,
    resolution_due_at      timestamptz,
    sla_state              text NOT NULL DEFAULT '' CHECK (sla_state IN ('','ok','warning','breached')),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX conversations_channel_contact_key ON conversations (channel_id, contact_id);
CREATE INDEX conversations_board_idx ON conversations (workspace_id, status, last_message_at DESC, id DESC);
CREATE INDEX conversations_assignee_idx ON conversations (workspace_id, assignee_id, status);
CREATE INDEX conversations_team_idx ON conversations (workspace_id, team_id, status);
CREATE INDEX conversations_contact_idx ON conversations (contact_id);

CREATE TABLE conversation_labels (
    workspace_id     bigint NOT NULL,
    conversation_id  bigint NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    label_id         bigint NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, label_id)
);
CREATE INDEX conversation_labels_label_idx ON conversation_labels (label_id);

-- A cycle opens with the customer message that finds no open cycle and ends at the close.
CREATE TABLE cycles (
    id                   bigserial PRIMARY KEY,
    workspace_id         bigint NOT NULL,
    conversation_id      bigint NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    opened_at            timestamptz NOT NULL,
    opened_by            text NOT NULL DEFAULT 'inbound' CHECK (opened_by IN ('inbound','reopen')),
    closed_at            timestamptz,
    close_reason         text NOT NULL DEFAULT '',
    team_id              bigint REFERENCES teams(id) ON DELETE SET NULL,
    assignee_id          bigint REFERENCES users(id) ON DELETE SET NULL,
    first_reply_at       timestamptz,
    first_reply_user_id  bigint REFERENCES users(id) ON DELETE SET NULL,
    transferred          boolean NOT NULL DEFAULT false
);
CREATE INDEX cycles_conversation_idx ON cycles (conversation_id, opened_at);
CREATE INDEX cycles_workspace_opened_idx ON cycles (workspace_id, opened_at);
CREATE UNIQUE INDEX cycles_one_open_idx ON cycles (conversation_id) WHERE closed_at IS NULL;

-- The structured log of what happened to a conversation: what metrics are computed from.
CREATE TABLE conversation_events (
    id               bigserial PRIMARY KEY,
    workspace_id     bigint NOT NULL,
    conversation_id  bigint NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    cycle_id         bigint,
    kind             text NOT NULL,
    at               timestamptz NOT NULL,
    actor_id         bigint REFERENCES users(id) ON DELETE SET NULL,
    from_status      text NOT NULL DEFAULT '',
    to_status        text NOT NULL DEFAULT '',
    from_team_id     bigint,
    to_team_id       bigint,
    from_user_id     bigint,
    to_user_id       bigint,
    note             text NOT NULL DEFAULT ''
);
CREATE INDEX conversation_events_conversation_idx ON conversation_events (conversation_id, at, id);
CREATE INDEX conversation_events_cycle_idx ON conversation_events (cycle_id);

CREATE TABLE messages (
    id               bigserial PRIMARY KEY,
    workspace_id     bigint NOT NULL,
    conversation_id  bigint NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    cycle_id         bigint,
    channel_id       bigint NOT NULL,
    direction        text NOT NULL CHECK (direction IN ('in','out')),
    kind             text NOT NULL,
    body             text NOT NULL DEFAULT '',
    private          boolean NOT NULL DEFAULT false,
    automatic        boolean NOT NULL DEFAULT false,
    wamid            text,
    sender_type      text NOT NULL CHECK (sender_type IN ('contact','agent','system')),
    sender_user_id   bigint REFERENCES users(id) ON DELETE SET NULL,
    status           text NOT NULL DEFAULT '' CHECK (status IN ('','queued','sent','delivered','read','failed')),
    error_code       integer,
    error_title      text NOT NULL DEFAULT '',
    error_detail     text NOT NULL DEFAULT '',
    media_id         text NOT NULL DEFAULT '',
    media_mime       text NOT NULL DEFAULT '',
    data             jsonb,
    context_wamid    text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    inserted_at      timestamptz NOT NULL DEFAULT now(),
    status_at        timestamptz
);
-- The idempotency key of every WhatsApp message (NULLs, i.e. notes and queued sends, are distinct).
CREATE UNIQUE INDEX messages_channel_wamid_key ON messages (channel_id, wamid);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at, id);

-- Status webhooks, deduplicated on (wamid, status); the message keeps the furthest status.
CREATE TABLE message_statuses (
    channel_id    bigint NOT NULL,
    wamid         text NOT NULL,
    status        text NOT NULL,
    at            timestamptz NOT NULL,
    error_code    integer,
    PRIMARY KEY (channel_id, wamid, status)
);

CREATE TABLE media (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL,
    channel_id    bigint NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    media_id      text NOT NULL,
    mime_type     text NOT NULL DEFAULT '',
    sha256        text NOT NULL DEFAULT '',
    filename      text NOT NULL DEFAULT '',
    size          bigint NOT NULL DEFAULT 0,
    data          bytea,
    fetched_at    timestamptz,
    error         text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX media_channel_media_key ON media (channel_id, media_id);

-- The durable outbox: every request to the Graph API goes through here.
CREATE TABLE outbox (
    id               bigserial PRIMARY KEY,
    workspace_id     bigint NOT NULL,
    channel_id       bigint NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    message_id       bigint REFERENCES messages(id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('message','read')),
    recipient        text NOT NULL DEFAULT '',
    payload          jsonb NOT NULL,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sending','sent','failed','ambiguous')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_code        integer,
    last_error       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_sending_idx ON outbox (updated_at) WHERE state = 'sending';

CREATE TABLE templates (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          text NOT NULL,
    language      text NOT NULL DEFAULT 'es',
    category      text NOT NULL DEFAULT 'utility' CHECK (category IN ('marketing','utility','authentication')),
    body          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX templates_workspace_name_lang_key ON templates (workspace_id, name, language);

CREATE TABLE canned_responses (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    shortcut      text NOT NULL,
    title         text NOT NULL DEFAULT '',
    body          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX canned_responses_shortcut_key ON canned_responses (workspace_id, lower(shortcut));

-- +goose Down
DROP TABLE canned_responses, templates, outbox, media, message_statuses, messages, conversation_events, cycles, conversation_labels, conversations, labels, contacts, webhook_events, channels;

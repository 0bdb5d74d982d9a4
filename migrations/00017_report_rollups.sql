-- +goose Up
-- Reports (issue 10): each cycle's figures (metrics.md) computed once and kept current,
-- daily rollups of them, and the queue of cycles whose figures are out of date.

-- One row per cycle. Everything a report needs that does not depend on "now" is here;
-- the clocks of an open cycle (waits, pending time, the 24-hour window) are stored as
-- instants so the report compares them with now when it runs.
CREATE TABLE cycle_figures (
    cycle_id            bigint PRIMARY KEY REFERENCES cycles(id) ON DELETE CASCADE,
    workspace_id        bigint NOT NULL,
    conversation_id     bigint NOT NULL,
    contact_id          bigint NOT NULL,
    channel_id          bigint,
    day                 date NOT NULL,            -- the opening's day in the workspace time zone
    opened_at           timestamptz NOT NULL,
    closed_at           timestamptz,
    team_id             bigint,                   -- at the close, or the current one while open
    assignee_id         bigint,
    first_reply_at      timestamptz,
    first_replier_id    bigint,
    first_response_s    float8,
    first_response_bs   float8,
    resolution_s        float8,
    resolution_bs       float8,
    next_s              float8[] NOT NULL DEFAULT '{}',
    next_bs             float8[] NOT NULL DEFAULT '{}',
    reply_users         bigint[] NOT NULL DEFAULT '{}',
    reply_counts        int[] NOT NULL DEFAULT '{}',
    replies             int NOT NULL DEFAULT 0,
    transferred         boolean NOT NULL DEFAULT false,
    fcr                 boolean NOT NULL DEFAULT false,
    converted           boolean NOT NULL DEFAULT false,
    lead_id             bigint,
    -- What the SLA targets are compared with (seconds, wall and business):
    sla_first_s         float8,   -- to the first reply, or to the close (NULL: still running)
    sla_first_bs        float8,
    sla_next_s          float8,   -- the longest next-response wait that ended (or was cut by the close)
    sla_next_bs         float8,
    sla_resolution_s    float8,   -- resolution minus pending time (NULL while open)
    sla_resolution_bs   float8,
    -- The running clocks of an open cycle, as of its last event.
    open_wait_since     timestamptz,  -- a next-response wait not answered yet
    pending_s           float8 NOT NULL DEFAULT 0,  -- pending spans that ended
    pending_bs          float8 NOT NULL DEFAULT 0,
    pending_since       timestamptz,  -- pending now, since
    waiting_since       timestamptz,  -- the latest customer message no agent reply followed
    window_lost         boolean NOT NULL DEFAULT false, -- decided by an event (a late reply, the close)
    settled             boolean NOT NULL DEFAULT false, -- closed more than 24 h ago: FCR is final
    seq                 bigint NOT NULL DEFAULT 0,      -- the queue entry these figures answer
    computed_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cycle_figures_range_idx ON cycle_figures (workspace_id, opened_at);
CREATE INDEX cycle_figures_day_idx ON cycle_figures (workspace_id, day);
CREATE INDEX cycle_figures_open_idx ON cycle_figures (workspace_id, opened_at) WHERE closed_at IS NULL;
CREATE INDEX cycle_figures_unsettled_idx ON cycle_figures (closed_at) WHERE NOT settled AND closed_at IS NOT NULL;
CREATE INDEX cycle_figures_lead_idx ON cycle_figures (workspace_id, opened_at) INCLUDE (lead_id) WHERE lead_id IS NOT NULL;

-- Daily rollups per team, channel and assignee (0 = none) of the counts that do not
-- depend on now: the volume chart reads these.
CREATE TABLE report_daily (
    workspace_id    bigint NOT NULL,
    day             date NOT NULL,
    team_id         bigint NOT NULL DEFAULT 0,
    channel_id      bigint NOT NULL DEFAULT 0,
    assignee_id     bigint NOT NULL DEFAULT 0,
    conversations   int NOT NULL DEFAULT 0,
    closed          int NOT NULL DEFAULT 0,
    unanswered      int NOT NULL DEFAULT 0,
    converted       int NOT NULL DEFAULT 0,
    fcr             int NOT NULL DEFAULT 0,
    first_responses int NOT NULL DEFAULT 0,
    first_response_sum  float8 NOT NULL DEFAULT 0,
    first_response_bsum float8 NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, day, team_id, channel_id, assignee_id)
);

-- The cycles whose figures are out of date. Triggers on what the figures are computed
-- from enqueue the cycle in the writer's transaction, so an entry becomes visible exactly
-- when its change does (an id watermark would skip rows of transactions that commit out
-- of id order). seq grows with each change; the rollup deletes an entry only if its seq
-- is still the one it computed.
CREATE SEQUENCE report_dirty_seq;
CREATE TABLE report_dirty (
    cycle_id      bigint PRIMARY KEY,
    workspace_id  bigint NOT NULL,
    seq           bigint NOT NULL DEFAULT nextval('report_dirty_seq')
);
CREATE INDEX report_dirty_workspace_idx ON report_dirty (workspace_id, cycle_id);
CREATE INDEX report_dirty_seq_idx ON report_dirty (seq);

-- The rollup finds a cycle's messages by cycle.
CREATE INDEX IF NOT EXISTS messages_cycle_idx ON messages (cycle_id) WHERE cycle_id IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION report_dirty_mark(ws bigint, cyc bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO report_dirty (cycle_id, workspace_id) VALUES (cyc, ws)
    ON CONFLICT (cycle_id) DO UPDATE SET seq = nextval('report_dirty_seq');
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION report_dirty_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'cycles' THEN
        PERFORM report_dirty_mark(NEW.workspace_id, NEW.id);
        IF TG_OP = 'INSERT' THEN
            -- A new cycle can undo the previous one's first-contact resolution.
            PERFORM report_dirty_mark(p.workspace_id, p.id) FROM cycles p
            WHERE p.conversation_id = NEW.conversation_id AND p.id <> NEW.id
            ORDER BY p.opened_at DESC, p.id DESC LIMIT 1;
        END IF;
    ELSIF TG_TABLE_NAME = 'leads' THEN
        -- A lead converts the contact's cycles open at its creation.
        PERFORM report_dirty_mark(y.workspace_id, y.id) FROM cycles y JOIN conversations c ON c.id = y.conversation_id
        WHERE c.contact_id = NEW.contact_id AND y.opened_at <= NEW.created_at
            AND (y.closed_at IS NULL OR y.closed_at >= NEW.created_at);
    ELSIF NEW.cycle_id IS NOT NULL THEN
        PERFORM report_dirty_mark(NEW.workspace_id, NEW.cycle_id);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER report_dirty_cycles AFTER INSERT OR UPDATE ON cycles FOR EACH ROW EXECUTE FUNCTION report_dirty_row();
CREATE TRIGGER report_dirty_messages AFTER INSERT OR UPDATE OF cycle_id ON messages FOR EACH ROW EXECUTE FUNCTION report_dirty_row();
CREATE TRIGGER report_dirty_events AFTER INSERT ON conversation_events FOR EACH ROW EXECUTE FUNCTION report_dirty_row();
CREATE TRIGGER report_dirty_leads AFTER INSERT ON leads FOR EACH ROW EXECUTE FUNCTION report_dirty_row();

-- Cycles recorded before this migration get their figures on the first runs.
INSERT INTO report_dirty (cycle_id, workspace_id) SELECT id, workspace_id FROM cycles;

-- +goose Down
DROP TRIGGER report_dirty_leads ON leads;
DROP TRIGGER report_dirty_events ON conversation_events;
DROP TRIGGER report_dirty_messages ON messages;
DROP TRIGGER report_dirty_cycles ON cycles;
DROP FUNCTION report_dirty_row();
DROP FUNCTION report_dirty_mark(bigint, bigint);
DROP INDEX IF EXISTS messages_cycle_idx;
DROP TABLE report_dirty;
DROP SEQUENCE report_dirty_seq;
DROP TABLE report_daily;
DROP TABLE cycle_figures;

-- +goose Up
-- The board's open column counts, kept incrementally: how many conversations with
-- messages each (status, channel, team, assignee) holds, open statuses only (Cerrados
-- counts a sliding window and is read from conversations_closed_idx). A board reads
-- a few hundred rows at most instead of every open conversation. The triggers below
-- record every change in the very statement that changes a conversation, whoever
-- writes it (the engine, the webhook path, bulk actions, imports, a team deleted), so
-- the counts are exact.
CREATE TABLE board_counts (
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    status        text NOT NULL,
    channel_id    bigint NOT NULL,
    team_id       bigint,
    assignee_id   bigint,
    n             integer NOT NULL,
    CONSTRAINT board_counts_key UNIQUE NULLS NOT DISTINCT (workspace_id, status, channel_id, team_id, assignee_id)
);

-- What changed since the counts were last folded in: one row per change (+1 for the
-- key a conversation enters, -1 for the one it leaves). Changes only ever insert here,
-- so webhooks opening conversations at the same time never wait on each other for a
-- shared counter row; a board read sums board_counts and these, and folds them into
-- board_counts when they pile up (inbox.Service.compactCounts).
CREATE TABLE board_count_deltas (
    workspace_id  bigint NOT NULL,
    status        text NOT NULL,
    channel_id    bigint NOT NULL,
    team_id       bigint,
    assignee_id   bigint,
    n             integer NOT NULL
);
CREATE INDEX board_count_deltas_workspace_idx ON board_count_deltas (workspace_id);

-- +goose StatementBegin
CREATE FUNCTION board_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dec boolean := false;
    inc boolean := false;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        dec := OLD.status <> 'closed' AND OLD.last_message_at IS NOT NULL;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        inc := NEW.status <> 'closed' AND NEW.last_message_at IS NOT NULL;
    END IF;
    IF dec AND inc AND (OLD.workspace_id, OLD.status, OLD.channel_id, COALESCE(OLD.team_id, 0), COALESCE(OLD.assignee_id, 0)) =
            (NEW.workspace_id, NEW.status, NEW.channel_id, COALESCE(NEW.team_id, 0), COALESCE(NEW.assignee_id, 0)) THEN
        RETURN NULL; -- same key: nothing moves
    END IF;
    IF dec THEN
        INSERT INTO board_count_deltas (workspace_id, status, channel_id, team_id, assignee_id, n)
        VALUES (OLD.workspace_id, OLD.status, OLD.channel_id, OLD.team_id, OLD.assignee_id, -1);
    END IF;
    IF inc THEN
        INSERT INTO board_count_deltas (workspace_id, status, channel_id, team_id, assignee_id, n)
        VALUES (NEW.workspace_id, NEW.status, NEW.channel_id, NEW.team_id, NEW.assignee_id, 1);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- Fired only when the key or the "has messages" test changes: the webhook's common
-- case (a message on an open conversation) costs nothing here.
CREATE TRIGGER board_counts_insert AFTER INSERT ON conversations FOR EACH ROW
    WHEN (NEW.status <> 'closed' AND NEW.last_message_at IS NOT NULL)
    EXECUTE FUNCTION board_counts_apply();
CREATE TRIGGER board_counts_update AFTER UPDATE OF status, channel_id, team_id, assignee_id, last_message_at ON conversations FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.channel_id IS DISTINCT FROM NEW.channel_id
        OR OLD.team_id IS DISTINCT FROM NEW.team_id OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
        OR (OLD.last_message_at IS NULL) <> (NEW.last_message_at IS NULL))
    EXECUTE FUNCTION board_counts_apply();
CREATE TRIGGER board_counts_delete AFTER DELETE ON conversations FOR EACH ROW
    WHEN (OLD.status <> 'closed' AND OLD.last_message_at IS NOT NULL)
    EXECUTE FUNCTION board_counts_apply();

INSERT INTO board_counts (workspace_id, status, channel_id, team_id, assignee_id, n)
SELECT workspace_id, status, channel_id, team_id, assignee_id, count(*)
FROM conversations WHERE status <> 'closed' AND last_message_at IS NOT NULL
GROUP BY 1, 2, 3, 4, 5;

-- +goose Down
DROP TRIGGER IF EXISTS board_counts_delete ON conversations;
DROP TRIGGER IF EXISTS board_counts_update ON conversations;
DROP TRIGGER IF EXISTS board_counts_insert ON conversations;
DROP FUNCTION IF EXISTS board_counts_apply();
DROP TABLE IF EXISTS board_count_deltas;
DROP TABLE IF EXISTS board_counts;

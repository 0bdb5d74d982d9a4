-- +goose Up
-- Cerrados' count kept incrementally too: board_counts (and the changes waiting in
-- board_count_deltas) also hold the closed conversations with messages, keyed by the
-- day (UTC) they were closed. A board counts Cerrados' window as the days after the
-- one its start falls in, from these rows, plus that first day's part from
-- conversations_closed_idx: a few hundred rows and one day of the index, instead of
-- the whole window of the index, whose pages every message leaves for a visit to the
-- table until the next vacuum.
--
-- Conversations are locked against writes while the triggers change and the closed
-- conversations are counted, so no change falls between the two.
LOCK TABLE conversations IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE board_counts ADD COLUMN closed_day date;
ALTER TABLE board_count_deltas ADD COLUMN closed_day date;
ALTER TABLE board_counts DROP CONSTRAINT board_counts_key;
ALTER TABLE board_counts ADD CONSTRAINT board_counts_key
    UNIQUE NULLS NOT DISTINCT (workspace_id, status, channel_id, team_id, assignee_id, closed_day);
CREATE INDEX board_counts_closed_idx ON board_counts (workspace_id, closed_day) WHERE status = 'closed';

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION board_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dec boolean := false;
    inc boolean := false;
    old_day date;
    new_day date;
BEGIN
    -- Counted: open conversations with messages, and closed ones with messages and a
    -- closing time (by its day: Cerrados' window); anything else is on no board.
    IF TG_OP <> 'INSERT' THEN
        dec := OLD.last_message_at IS NOT NULL AND (OLD.status <> 'closed' OR OLD.closed_at IS NOT NULL);
        IF OLD.status = 'closed' THEN
            old_day := (OLD.closed_at AT TIME ZONE 'UTC')::date;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        inc := NEW.last_message_at IS NOT NULL AND (NEW.status <> 'closed' OR NEW.closed_at IS NOT NULL);
        IF NEW.status = 'closed' THEN
            new_day := (NEW.closed_at AT TIME ZONE 'UTC')::date;
        END IF;
    END IF;
    IF dec AND inc AND (OLD.workspace_id, OLD.status, OLD.channel_id, COALESCE(OLD.team_id, 0), COALESCE(OLD.assignee_id, 0), COALESCE(old_day, '-infinity')) =
            (NEW.workspace_id, NEW.status, NEW.channel_id, COALESCE(NEW.team_id, 0), COALESCE(NEW.assignee_id, 0), COALESCE(new_day, '-infinity')) THEN
        RETURN NULL; -- same key: nothing moves
    END IF;
    IF dec THEN
        INSERT INTO board_count_deltas (workspace_id, status, channel_id, team_id, assignee_id, closed_day, n)
        VALUES (OLD.workspace_id, OLD.status, OLD.channel_id, OLD.team_id, OLD.assignee_id, old_day, -1);
    END IF;
    IF inc THEN
        INSERT INTO board_count_deltas (workspace_id, status, channel_id, team_id, assignee_id, closed_day, n)
        VALUES (NEW.workspace_id, NEW.status, NEW.channel_id, NEW.team_id, NEW.assignee_id, new_day, 1);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

DROP TRIGGER board_counts_insert ON conversations;
DROP TRIGGER board_counts_update ON conversations;
DROP TRIGGER board_counts_delete ON conversations;
-- Fired only when the key or the "counted" test changes: the webhook's common case (a
-- message on an open conversation) costs nothing here.
CREATE TRIGGER board_counts_insert AFTER INSERT ON conversations FOR EACH ROW
    WHEN (NEW.last_message_at IS NOT NULL AND (NEW.status <> 'closed' OR NEW.closed_at IS NOT NULL))
    EXECUTE FUNCTION board_counts_apply();
CREATE TRIGGER board_counts_update AFTER UPDATE OF status, channel_id, team_id, assignee_id, last_message_at, closed_at ON conversations FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.channel_id IS DISTINCT FROM NEW.channel_id
        OR OLD.team_id IS DISTINCT FROM NEW.team_id OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
        OR (OLD.last_message_at IS NULL) <> (NEW.last_message_at IS NULL)
        OR (OLD.status = 'closed' AND OLD.closed_at IS DISTINCT FROM NEW.closed_at))
    EXECUTE FUNCTION board_counts_apply();
CREATE TRIGGER board_counts_delete AFTER DELETE ON conversations FOR EACH ROW
    WHEN (OLD.last_message_at IS NOT NULL AND (OLD.status <> 'closed' OR OLD.closed_at IS NOT NULL))
    EXECUTE FUNCTION board_counts_apply();

INSERT INTO board_counts (workspace_id, status, channel_id, team_id, assignee_id, closed_day, n)
SELECT workspace_id, status, channel_id, team_id, assignee_id, (closed_at AT TIME ZONE 'UTC')::date, count(*)
FROM conversations WHERE status = 'closed' AND last_message_at IS NOT NULL AND closed_at IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6;

-- +goose Down
LOCK TABLE conversations IN SHARE ROW EXCLUSIVE MODE;
DROP TRIGGER board_counts_insert ON conversations;
DROP TRIGGER board_counts_update ON conversations;
DROP TRIGGER board_counts_delete ON conversations;
DELETE FROM board_count_deltas WHERE status = 'closed';
DELETE FROM board_counts WHERE status = 'closed';
DROP INDEX board_counts_closed_idx;
ALTER TABLE board_counts DROP CONSTRAINT board_counts_key;
ALTER TABLE board_counts ADD CONSTRAINT board_counts_key UNIQUE NULLS NOT DISTINCT (workspace_id, status, channel_id, team_id, assignee_id);
ALTER TABLE board_count_deltas DROP COLUMN closed_day;
ALTER TABLE board_counts DROP COLUMN closed_day;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION board_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
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
        RETURN NULL;
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

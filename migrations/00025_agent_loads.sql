-- +goose Up
-- Each agent's open chats (assigned to them, in Nuevos or En atención), kept by the
-- triggers below in the very statement that changes a conversation, whoever writes it.
-- Routing reads one row per agent instead of counting their chats, which an agent with
-- hundreds of them open (or thousands closed on pages not yet vacuumed) makes slow.
CREATE TABLE agent_loads (
    user_id       bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    n             integer NOT NULL
);

INSERT INTO agent_loads (user_id, workspace_id, n)
SELECT assignee_id, workspace_id, count(*) FROM conversations
WHERE assignee_id IS NOT NULL AND status IN ('new', 'active')
GROUP BY assignee_id, workspace_id;

-- agent_loads_recount sets the loads of a workspace's agents from their chats. The
-- history importer writes with the triggers off (its parallel parts would otherwise
-- wait on each other's agent rows until they all commit) and recounts afterwards; the
-- table lock lets changes committed before it in and holds new ones until the recount
-- commits, so none is missed or counted twice.
-- +goose StatementBegin
CREATE FUNCTION agent_loads_recount(ws bigint) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    LOCK TABLE agent_loads IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO agent_loads (user_id, workspace_id, n)
    SELECT u.id, u.workspace_id, (SELECT count(*) FROM conversations c WHERE c.workspace_id = ws AND c.assignee_id = u.id
        AND c.status IN ('new', 'active'))
    FROM users u WHERE u.workspace_id = ws
    ON CONFLICT (user_id) DO UPDATE SET n = EXCLUDED.n;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION agent_loads_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    left_by bigint;
    taken_by bigint;
BEGIN
    IF current_setting('atiende.agent_loads_off', true) = 'on' THEN
        RETURN NULL; -- the history importer recounts when it commits
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.status IN ('new', 'active') THEN
        left_by := OLD.assignee_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status IN ('new', 'active') THEN
        taken_by := NEW.assignee_id;
    END IF;
    IF left_by IS NOT DISTINCT FROM taken_by THEN
        RETURN NULL;
    END IF;
    -- Two agents' rows in id order, so two transfers between the same two agents in
    -- opposite directions never wait on each other in a circle.
    IF left_by IS NOT NULL AND (taken_by IS NULL OR left_by < taken_by) THEN
        UPDATE agent_loads SET n = n - 1 WHERE user_id = left_by;
        left_by := NULL;
    END IF;
    IF taken_by IS NOT NULL THEN
        INSERT INTO agent_loads (user_id, workspace_id, n) VALUES (taken_by, NEW.workspace_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET n = agent_loads.n + 1;
    END IF;
    IF left_by IS NOT NULL THEN
        UPDATE agent_loads SET n = n - 1 WHERE user_id = left_by;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER agent_loads_insert AFTER INSERT ON conversations FOR EACH ROW
    WHEN (NEW.assignee_id IS NOT NULL AND NEW.status IN ('new', 'active'))
    EXECUTE FUNCTION agent_loads_apply();
CREATE TRIGGER agent_loads_update AFTER UPDATE OF assignee_id, status ON conversations FOR EACH ROW
    WHEN (OLD.assignee_id IS DISTINCT FROM NEW.assignee_id OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION agent_loads_apply();
CREATE TRIGGER agent_loads_delete AFTER DELETE ON conversations FOR EACH ROW
    WHEN (OLD.assignee_id IS NOT NULL AND OLD.status IN ('new', 'active'))
    EXECUTE FUNCTION agent_loads_apply();

-- TRUNCATE fires no row triggers: nobody has open chats any more.
-- +goose StatementBegin
CREATE FUNCTION agent_loads_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM agent_loads;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER agent_loads_truncated AFTER TRUNCATE ON conversations
    FOR EACH STATEMENT EXECUTE FUNCTION agent_loads_truncated();

-- routing_can_take reads the row, with a snapshot of its own (see 00024).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION routing_can_take(uid bigint, ws bigint) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN EXISTS (SELECT FROM users u WHERE u.id = uid AND u.active AND u.presence = 'online'
        AND u.max_concurrent > COALESCE((SELECT n FROM agent_loads WHERE user_id = uid), 0));
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION routing_can_take(uid bigint, ws bigint) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN EXISTS (SELECT FROM users u WHERE u.id = uid AND u.active AND u.presence = 'online'
        AND u.max_concurrent > (SELECT count(*) FROM (SELECT FROM conversations x WHERE x.workspace_id = ws AND x.assignee_id = uid
            AND x.status IN ('new', 'active') LIMIT u.max_concurrent) n));
END
$$;
-- +goose StatementEnd
DROP TRIGGER agent_loads_truncated ON conversations;
DROP FUNCTION agent_loads_truncated();
DROP TRIGGER agent_loads_delete ON conversations;
DROP TRIGGER agent_loads_update ON conversations;
DROP TRIGGER agent_loads_insert ON conversations;
DROP FUNCTION agent_loads_apply();
DROP FUNCTION agent_loads_recount(bigint);
DROP TABLE agent_loads;

-- +goose Up
-- A workspace's routing setup version: bumped in the very statement that changes a
-- routing rule, a channel's welcome menu, a team or a calendar, whoever writes it (the
-- settings screens, the importer, a script). Routing keeps each workspace's setup in
-- memory and reads only this number with the message it routes (app/routing): a
-- first message no longer reads the rules, the menu, the teams and their calendars.
CREATE TABLE routing_setup_versions (
    workspace_id  bigint PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    version       bigint NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION routing_setup_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ws bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        ws := OLD.workspace_id;
    ELSE
        ws := NEW.workspace_id;
    END IF;
    -- (A workspace being deleted takes its version with it.)
    INSERT INTO routing_setup_versions AS v (workspace_id, version)
    SELECT ws, 1 WHERE EXISTS (SELECT 1 FROM workspaces w WHERE w.id = ws)
    ON CONFLICT (workspace_id) DO UPDATE SET version = v.version + 1;
    IF TG_OP = 'UPDATE' AND OLD.workspace_id <> NEW.workspace_id THEN
        INSERT INTO routing_setup_versions AS v (workspace_id, version)
        SELECT OLD.workspace_id, 1 WHERE EXISTS (SELECT 1 FROM workspaces w WHERE w.id = OLD.workspace_id)
        ON CONFLICT (workspace_id) DO UPDATE SET version = v.version + 1;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER routing_setup_changed AFTER INSERT OR UPDATE OR DELETE ON routing_rules
    FOR EACH ROW EXECUTE FUNCTION routing_setup_changed();
CREATE TRIGGER routing_setup_changed AFTER INSERT OR UPDATE OR DELETE ON channel_menus
    FOR EACH ROW EXECUTE FUNCTION routing_setup_changed();
CREATE TRIGGER routing_setup_changed AFTER INSERT OR UPDATE OR DELETE ON teams
    FOR EACH ROW EXECUTE FUNCTION routing_setup_changed();
CREATE TRIGGER routing_setup_changed AFTER INSERT OR UPDATE OR DELETE ON calendars
    FOR EACH ROW EXECUTE FUNCTION routing_setup_changed();

-- TRUNCATE fires no row triggers: every workspace's setup counts as changed.
-- +goose StatementBegin
CREATE FUNCTION routing_setup_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO routing_setup_versions AS v (workspace_id, version)
    SELECT id, 1 FROM workspaces
    ON CONFLICT (workspace_id) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER routing_setup_truncated AFTER TRUNCATE ON routing_rules
    FOR EACH STATEMENT EXECUTE FUNCTION routing_setup_truncated();
CREATE TRIGGER routing_setup_truncated AFTER TRUNCATE ON channel_menus
    FOR EACH STATEMENT EXECUTE FUNCTION routing_setup_truncated();
CREATE TRIGGER routing_setup_truncated AFTER TRUNCATE ON teams
    FOR EACH STATEMENT EXECUTE FUNCTION routing_setup_truncated();
CREATE TRIGGER routing_setup_truncated AFTER TRUNCATE ON calendars
    FOR EACH STATEMENT EXECUTE FUNCTION routing_setup_truncated();

-- +goose Down
DROP TRIGGER IF EXISTS routing_setup_truncated ON calendars;
DROP TRIGGER IF EXISTS routing_setup_truncated ON teams;
DROP TRIGGER IF EXISTS routing_setup_truncated ON channel_menus;
DROP TRIGGER IF EXISTS routing_setup_truncated ON routing_rules;
DROP FUNCTION IF EXISTS routing_setup_truncated();
DROP TRIGGER IF EXISTS routing_setup_changed ON calendars;
DROP TRIGGER IF EXISTS routing_setup_changed ON teams;
DROP TRIGGER IF EXISTS routing_setup_changed ON channel_menus;
DROP TRIGGER IF EXISTS routing_setup_changed ON routing_rules;
DROP FUNCTION IF EXISTS routing_setup_changed();
DROP TABLE IF EXISTS routing_setup_versions;

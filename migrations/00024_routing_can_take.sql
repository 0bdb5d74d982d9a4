-- +goose Up
-- Whether agent uid can take one more chat: active, online and under their capacity.
-- Volatile, so its query runs with a snapshot of its own: called by a statement after it
-- has locked the agent's row, it counts every chat committed to them before the lock
-- was granted, which the statement's own snapshot (taken earlier) may not see. Routing
-- then locks, counts and claims an agent's turn in one round trip.
-- +goose StatementBegin
CREATE FUNCTION routing_can_take(uid bigint, ws bigint) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN EXISTS (SELECT FROM users u WHERE u.id = uid AND u.active AND u.presence = 'online'
        AND u.max_concurrent > (SELECT count(*) FROM (SELECT FROM conversations x WHERE x.workspace_id = ws AND x.assignee_id = uid
            AND x.status IN ('new', 'active') LIMIT u.max_concurrent) n));
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION routing_can_take(bigint, bigint);

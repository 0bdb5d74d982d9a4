-- +goose Up
-- Routing's working state (issue 9). On the conversation row, so the webhook's path reads
-- it with the row it locks anyway: whether the welcome menu waits for an answer in this
-- cycle and how many unclear answers it got, and the cycle whose away message was sent.
ALTER TABLE conversations
    ADD COLUMN menu_state    text NOT NULL DEFAULT '' CHECK (menu_state IN ('', 'waiting')),
    ADD COLUMN menu_attempts smallint NOT NULL DEFAULT 0,
    ADD COLUMN away_cycle_id bigint;

-- Round-robin: the agent routed to least recently goes first. Written while the agent's
-- row is locked by the assignment that sets it.
ALTER TABLE users ADD COLUMN routed_at timestamptz;

-- A team's queue, oldest first: what a drain reads.
CREATE INDEX conversations_queue_idx ON conversations (team_id, waiting_since, id)
    WHERE status = 'new' AND assignee_id IS NULL AND team_id IS NOT NULL;

-- +goose Down
DROP INDEX conversations_queue_idx;
ALTER TABLE users DROP COLUMN routed_at;
ALTER TABLE conversations DROP COLUMN away_cycle_id, DROP COLUMN menu_attempts, DROP COLUMN menu_state;

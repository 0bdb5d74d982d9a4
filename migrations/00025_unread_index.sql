-- +goose NO TRANSACTION
-- +goose Up
-- The unread badge (an agent's open conversations with customer messages nobody has
-- read) comes with every board answer: with this index it reads those conversations
-- only, not every open conversation of the agent. Built without blocking the
-- webhooks that write conversations meanwhile.
CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_unread_idx ON conversations (workspace_id, assignee_id)
    WHERE unread_count > 0 AND status IN ('new', 'active', 'pending');

-- Conversations change with every message, and each change leaves the visibility map
-- unsure of its page: the board's index-only scans (its columns, Cerrados' count)
-- then visit the table for those pages until a vacuum. Vacuum it after 2% of its rows
-- changed instead of 20%.
ALTER TABLE conversations SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);

-- +goose Down
ALTER TABLE conversations RESET (autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor);
DROP INDEX CONCURRENTLY IF EXISTS conversations_unread_idx;

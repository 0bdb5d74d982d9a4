-- +goose Up
-- The board walks each column through conversations_board_idx up to its page size.
-- Agents and supervisors see only some of those conversations, and Cerrados only those
-- closed within its window: with the columns those rules read in the index, the walk
-- stays in the index (an index-only scan) instead of reading every row it passes over.
DROP INDEX conversations_board_idx;
CREATE INDEX conversations_board_idx ON conversations (workspace_id, status, last_message_at DESC, id DESC)
    INCLUDE (team_id, assignee_id, channel_id, closed_at);

-- A card's lead is the latest linked to its conversation: one index entry away.
DROP INDEX leads_conversation_idx;
CREATE INDEX leads_conversation_idx ON leads (conversation_id, created_at DESC, id DESC) WHERE conversation_id IS NOT NULL;

-- +goose Down
DROP INDEX leads_conversation_idx;
CREATE INDEX leads_conversation_idx ON leads (conversation_id) WHERE conversation_id IS NOT NULL;
DROP INDEX conversations_board_idx;
CREATE INDEX conversations_board_idx ON conversations (workspace_id, status, last_message_at DESC, id DESC);

-- +goose NO TRANSACTION
-- The board's search, the Cerrados window and presence. Indexes are built CONCURRENTLY so the
-- migration does not block writes on a live database with many messages; every
-- statement is idempotent, so a run interrupted halfway can simply be run again.

-- +goose Up
-- search_fold: lower case without accents, so "jose" finds "José" and "Núñez" finds
-- "nunez". unaccent is a dictionary lookup (ten times faster than translate()); the
-- dictionary is named explicitly so the function is truly immutable and indexes can use
-- it. PL/pgSQL keeps it from being inlined, so its COST counts: the planner then knows
-- that folding every contact is dearer than asking the trigram index.
CREATE EXTENSION IF NOT EXISTS unaccent;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION search_fold(text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$
BEGIN
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, $1));
END
$$;
-- +goose StatementEnd

-- Contacts by name, WhatsApp profile name, company or number: the folded text is kept
-- in a column (so checking a candidate compares text instead of folding it again) with
-- a trigram GIN index, so any fragment matches ("987 65", "ferret", "pedr"). Contacts
-- change rarely.
ALTER TABLE contacts ADD COLUMN IF NOT EXISTS search_text text
    GENERATED ALWAYS AS (search_fold(name || ' ' || profile_name || ' ' || company || ' ' || wa_id)) STORED;
CREATE INDEX CONCURRENTLY IF NOT EXISTS contacts_search_idx ON contacts USING gin (search_text gin_trgm_ops);

-- Message text: Spanish full-text (words, with prefix matching). A tsvector holds a few
-- lexemes per message where a trigram index would hold one entry per three letters, so
-- it stays cheap on the webhook path (1,000+ messages/s); fastupdate batches new
-- entries in the pending list instead of touching the tree on every insert. Activity
-- lines ("Ana tomó la conversación") and empty bodies (media) are left out.
CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_search_idx ON messages
    USING gin (to_tsvector('spanish'::regconfig, search_fold(body))) WITH (fastupdate = on)
    WHERE kind <> 'activity' AND body <> '';

-- Column counts, read from the index alone: the open conversations with what the
-- visibility rules and filters need. Closed conversations (the vast majority) stay out.
CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_open_count_idx ON conversations (workspace_id, status)
    INCLUDE (team_id, assignee_id, channel_id)
    WHERE status <> 'closed' AND last_message_at IS NOT NULL;

-- Cerrados shows what was closed lately (7 days unless asked for more), counted the same way.
CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_closed_idx ON conversations (workspace_id, closed_at DESC)
    INCLUDE (team_id, assignee_id, channel_id)
    WHERE status = 'closed' AND last_message_at IS NOT NULL;

-- Presence: an agent whose heartbeats stop is shown offline; away_presence keeps what
-- they had chosen, restored by their next heartbeat ('' when not away).
ALTER TABLE users ADD COLUMN IF NOT EXISTS away_presence text NOT NULL DEFAULT ''
    CHECK (away_presence IN ('', 'online', 'busy'));

-- +goose Down
ALTER TABLE users DROP COLUMN IF EXISTS away_presence;
DROP INDEX IF EXISTS conversations_closed_idx;
DROP INDEX IF EXISTS conversations_open_count_idx;
DROP INDEX IF EXISTS messages_search_idx;
DROP INDEX IF EXISTS contacts_search_idx;
ALTER TABLE contacts DROP COLUMN IF EXISTS search_text;
DROP FUNCTION IF EXISTS search_fold(text);

-- +goose Up
-- Live SLA clocks (issue 10). The due times themselves live on conversations since
-- 00002 (first_response_due_at, next_response_due_at, resolution_due_at, sla_state);
-- these are the working state the engine keeps to compute them when events happen,
-- and what the "sla" job needs to find, in one indexed query, the conversations whose
-- warning or deadline has come.

-- A cycle's pending time (the resolution clock is paused while pending): the span
-- running now, and the closed spans so far in wall seconds and in business seconds of
-- the cycle's team calendar (recomputed from the status events after a transfer).
-- next_wait_since is the start of the next-response wait that is open (metrics.md).
ALTER TABLE cycles
    ADD COLUMN pending_since            timestamptz,
    ADD COLUMN pending_seconds          double precision NOT NULL DEFAULT 0,
    ADD COLUMN pending_business_seconds double precision NOT NULL DEFAULT 0,
    ADD COLUMN next_wait_since          timestamptz;

-- Warning times of the running targets, which thresholds the job has already announced
-- (bits: 1/2 first response warning/breach, 4/8 next response, 16/32 resolution), and
-- the earliest threshold not yet announced: the job's one index.
ALTER TABLE conversations
    ADD COLUMN first_response_warn_at timestamptz,
    ADD COLUMN next_response_warn_at  timestamptz,
    ADD COLUMN resolution_warn_at     timestamptz,
    ADD COLUMN sla_notified           smallint NOT NULL DEFAULT 0,
    ADD COLUMN sla_next_check_at      timestamptz;
CREATE INDEX conversations_sla_check_idx ON conversations (sla_next_check_at) WHERE sla_next_check_at IS NOT NULL;

-- +goose Down
DROP INDEX conversations_sla_check_idx;
ALTER TABLE conversations DROP COLUMN sla_next_check_at, DROP COLUMN sla_notified,
    DROP COLUMN resolution_warn_at, DROP COLUMN next_response_warn_at, DROP COLUMN first_response_warn_at;
ALTER TABLE cycles DROP COLUMN next_wait_since, DROP COLUMN pending_business_seconds,
    DROP COLUMN pending_seconds, DROP COLUMN pending_since;

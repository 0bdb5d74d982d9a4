-- +goose Up
-- The sender's claim skips recipients with a send in flight or an earlier pending row,
-- and status adoption looks for ambiguous sends per recipient: both by this index.
CREATE INDEX outbox_recipient_idx ON outbox (channel_id, recipient, id) WHERE state IN ('pending','sending','ambiguous');

-- +goose Down
DROP INDEX outbox_recipient_idx;

-- +goose Up
-- Profile: the colour of one's initials, and which browser notifications one wants.
ALTER TABLE users
  ADD COLUMN avatar_color text NOT NULL DEFAULT '',
  ADD COLUMN notify_assigned boolean NOT NULL DEFAULT true,
  ADD COLUMN notify_mentions boolean NOT NULL DEFAULT true,
  ADD COLUMN notify_tasks boolean NOT NULL DEFAULT true;

-- +goose Down
ALTER TABLE users
  DROP COLUMN avatar_color,
  DROP COLUMN notify_assigned,
  DROP COLUMN notify_mentions,
  DROP COLUMN notify_tasks;

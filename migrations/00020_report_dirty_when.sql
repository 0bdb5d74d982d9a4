-- +goose Up
-- The cycles queued for the report rollup (00017): a cycle's figures are computed from
-- its customer messages, agent replies and status events, never from its activity lines
-- (direction 'out', kind 'activity') nor from the SLA job's alerts (events sla_warning
-- and sla_breach). Those rows no longer queue their cycle: the SLA job writes one of each
-- per alert, up to 10,000 in a busy minute, and the row trigger was half its cost (and
-- queued cycles whose figures had not changed for the rollup to recompute).
DROP TRIGGER report_dirty_messages ON messages;
CREATE TRIGGER report_dirty_messages AFTER INSERT OR UPDATE OF cycle_id ON messages FOR EACH ROW
    WHEN (NEW.cycle_id IS NOT NULL AND NOT (NEW.kind = 'activity' AND NEW.direction = 'out'))
    EXECUTE FUNCTION report_dirty_row();
DROP TRIGGER report_dirty_events ON conversation_events;
CREATE TRIGGER report_dirty_events AFTER INSERT ON conversation_events FOR EACH ROW
    WHEN (NEW.cycle_id IS NOT NULL AND NEW.kind NOT IN ('sla_warning', 'sla_breach'))
    EXECUTE FUNCTION report_dirty_row();

-- +goose Down
DROP TRIGGER report_dirty_events ON conversation_events;
CREATE TRIGGER report_dirty_events AFTER INSERT ON conversation_events FOR EACH ROW EXECUTE FUNCTION report_dirty_row();
DROP TRIGGER report_dirty_messages ON messages;
CREATE TRIGGER report_dirty_messages AFTER INSERT OR UPDATE OF cycle_id ON messages FOR EACH ROW EXECUTE FUNCTION report_dirty_row();

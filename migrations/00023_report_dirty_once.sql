-- +goose Up
-- A first message marks its cycle dirty five times in one transaction (the cycle, the
-- message, its events), each an upsert of the same report_dirty row. Once per cycle and
-- transaction is enough: the transaction's changes commit together, and a rollup that
-- read the row before the commit finds its seq moved (or waits on the row) and keeps
-- the entry. The last cycle marked is remembered in a transaction-local setting, which
-- a rolled-back savepoint undoes along with the upsert.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION report_dirty_mark(ws bigint, cyc bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cyc IS NULL OR current_setting('atiende.report_dirty_last', true) = cyc::text THEN
        RETURN;
    END IF;
    INSERT INTO report_dirty (cycle_id, workspace_id) VALUES (cyc, ws)
    ON CONFLICT (cycle_id) DO UPDATE SET seq = nextval('report_dirty_seq');
    PERFORM set_config('atiende.report_dirty_last', cyc::text, true);
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION report_dirty_mark(ws bigint, cyc bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO report_dirty (cycle_id, workspace_id) VALUES (cyc, ws)
    ON CONFLICT (cycle_id) DO UPDATE SET seq = nextval('report_dirty_seq');
$$;
-- +goose StatementEnd

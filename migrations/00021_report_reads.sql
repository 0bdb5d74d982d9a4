-- +goose Up
-- Reports read less (issue 10, speed).
--
-- A version per workspace of its cycle_figures rows: every statement that inserts,
-- changes or deletes figures (the rollup, a report's refresh, the settling, a cascade
-- from a deleted cycle) bumps it in its own transaction. A report whose figures were
-- aggregated at version v can reuse that aggregate while the version is still v (the
-- running clocks of open cycles are still compared with now on every run).
CREATE TABLE report_versions (
    workspace_id  bigint PRIMARY KEY,
    version       bigint NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION report_versions_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_versions AS v (workspace_id, version)
    SELECT DISTINCT workspace_id, 1 FROM changed_figures ORDER BY 1
    ON CONFLICT (workspace_id) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER report_versions_insert AFTER INSERT ON cycle_figures
    REFERENCING NEW TABLE AS changed_figures FOR EACH STATEMENT EXECUTE FUNCTION report_versions_bump();
CREATE TRIGGER report_versions_update AFTER UPDATE ON cycle_figures
    REFERENCING NEW TABLE AS changed_figures FOR EACH STATEMENT EXECUTE FUNCTION report_versions_bump();
CREATE TRIGGER report_versions_delete AFTER DELETE ON cycle_figures
    REFERENCING OLD TABLE AS changed_figures FOR EACH STATEMENT EXECUTE FUNCTION report_versions_bump();

-- What a report reads of a cycle, packed in one value (big-endian, as PostgreSQL's
-- binary send functions write it) so the report reads one column per cycle instead of
-- two dozen. Generated: always what the columns say, whoever writes them. Layout (the
-- decoder is app/reports/fast.go):
--   opened_at (8: microseconds since 2000-01-01), team_id, first_replier_id, assignee_id
--   (8 each, 0 when null), flags (4: see below), then ten float8 (0 when null):
--   first_response_s, first_response_bs, resolution_s, resolution_bs, sla_first_s,
--   sla_first_bs, sla_next_s, sla_next_bs, sla_resolution_s, sla_resolution_bs; then
--   next_s, next_bs, reply_users, reply_counts, each as report_pack_* writes it.
-- +goose StatementBegin
CREATE FUNCTION report_pack_f8(a float8[]) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE cardinality(a) WHEN 0 THEN int4send(0) WHEN 1 THEN int4send(1) || float8send(a[1])
        ELSE int4send(-1) || array_send(a) END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION report_pack_i8(a bigint[]) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE cardinality(a) WHEN 0 THEN int4send(0) WHEN 1 THEN int4send(1) || int8send(a[1])
        ELSE int4send(-1) || array_send(a) END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION report_pack_i4(a int[]) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE cardinality(a) WHEN 0 THEN int4send(0) WHEN 1 THEN int4send(1) || int4send(a[1])
        ELSE int4send(-1) || array_send(a) END
$$;
-- +goose StatementEnd

-- flags: 1 closed, 2 no agent reply, 4 fcr, 8 converted, 16 window_lost, 32 team_id,
-- 64 first_replier_id, 128 assignee_id, then one bit per float8 above that is not null
-- (256 first_response_s ... 131072 sla_resolution_bs).
ALTER TABLE cycle_figures ADD COLUMN packed bytea GENERATED ALWAYS AS (
    timestamptz_send(opened_at)
    || int8send(COALESCE(team_id, 0)) || int8send(COALESCE(first_replier_id, 0)) || int8send(COALESCE(assignee_id, 0))
    || int4send((closed_at IS NOT NULL)::int + (replies = 0)::int * 2 + fcr::int * 4 + converted::int * 8 + window_lost::int * 16
        + (team_id IS NOT NULL)::int * 32 + (first_replier_id IS NOT NULL)::int * 64 + (assignee_id IS NOT NULL)::int * 128
        + (first_response_s IS NOT NULL)::int * 256 + (first_response_bs IS NOT NULL)::int * 512
        + (resolution_s IS NOT NULL)::int * 1024 + (resolution_bs IS NOT NULL)::int * 2048
        + (sla_first_s IS NOT NULL)::int * 4096 + (sla_first_bs IS NOT NULL)::int * 8192
        + (sla_next_s IS NOT NULL)::int * 16384 + (sla_next_bs IS NOT NULL)::int * 32768
        + (sla_resolution_s IS NOT NULL)::int * 65536 + (sla_resolution_bs IS NOT NULL)::int * 131072)
    || float8send(COALESCE(first_response_s, 0)) || float8send(COALESCE(first_response_bs, 0))
    || float8send(COALESCE(resolution_s, 0)) || float8send(COALESCE(resolution_bs, 0))
    || float8send(COALESCE(sla_first_s, 0)) || float8send(COALESCE(sla_first_bs, 0))
    || float8send(COALESCE(sla_next_s, 0)) || float8send(COALESCE(sla_next_bs, 0))
    || float8send(COALESCE(sla_resolution_s, 0)) || float8send(COALESCE(sla_resolution_bs, 0))
    || report_pack_f8(next_s) || report_pack_f8(next_bs) || report_pack_i8(reply_users) || report_pack_i4(reply_counts)
) STORED;

-- A report reads the packed figures of a range from the index alone (an index-only
-- scan: a few columns a tuple instead of the whole wide row). A btree tuple has a size
-- limit, so the cycles with very long reply lists (a packed value over 2,000 bytes) stay
-- out of it and are read from the table through the second index.
CREATE INDEX cycle_figures_read_idx ON cycle_figures (workspace_id, opened_at) INCLUDE (team_id, assignee_id, channel_id, packed)
    WHERE octet_length(packed) <= 2000;
CREATE INDEX cycle_figures_read_big_idx ON cycle_figures (workspace_id, opened_at) WHERE octet_length(packed) > 2000;

-- +goose Down
DROP INDEX cycle_figures_read_big_idx;
DROP INDEX cycle_figures_read_idx;
ALTER TABLE cycle_figures DROP COLUMN packed;
DROP FUNCTION report_pack_i4(int[]);
DROP FUNCTION report_pack_i8(bigint[]);
DROP FUNCTION report_pack_f8(float8[]);
DROP TRIGGER report_versions_delete ON cycle_figures;
DROP TRIGGER report_versions_update ON cycle_figures;
DROP TRIGGER report_versions_insert ON cycle_figures;
DROP FUNCTION report_versions_bump();
DROP TABLE report_versions;

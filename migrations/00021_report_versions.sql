-- +goose Up
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

-- +goose Down
DROP TRIGGER report_versions_delete ON cycle_figures;
DROP TRIGGER report_versions_update ON cycle_figures;
DROP TRIGGER report_versions_insert ON cycle_figures;
DROP FUNCTION report_versions_bump();
DROP TABLE report_versions;

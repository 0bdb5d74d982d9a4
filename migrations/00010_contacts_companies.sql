-- +goose Up
-- Contacts and companies (the CRM's people and B2B accounts).

-- A company (B2B account). The tax id is free text (RUC, RFC, CUIT, NIT, RUT…) read
-- with its country. Names are unique per workspace regardless of case, so "ACME" typed
-- on a contact finds "Acme".
CREATE TABLE companies (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          text NOT NULL,
    tax_id        text NOT NULL DEFAULT '',
    country       text NOT NULL DEFAULT '',
    domain        text NOT NULL DEFAULT '',
    owner_id      bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX companies_workspace_name_key ON companies (workspace_id, lower(name));

-- A contact belongs to at most one company. contacts.company stays as the company's
-- name (kept in sync by the application), so the board's search and cards read it as before.
ALTER TABLE contacts ADD COLUMN company_id bigint REFERENCES companies(id) ON DELETE SET NULL;
ALTER TABLE contacts ADD COLUMN notes text NOT NULL DEFAULT '';
CREATE INDEX contacts_company_idx ON contacts (company_id, id) WHERE company_id IS NOT NULL;
-- One contact per person: new contacts are matched on the E.164 phone (521/549 variants
-- of a WhatsApp id give the same phone).
CREATE INDEX contacts_phone_idx ON contacts (workspace_id, phone);
-- The contacts list: newest first, keyset paged, optionally by owner or country.
CREATE INDEX contacts_list_idx ON contacts (workspace_id, id DESC);
CREATE INDEX contacts_owner_idx ON contacts (workspace_id, owner_id, id DESC) WHERE owner_id IS NOT NULL;
CREATE INDEX contacts_country_idx ON contacts (workspace_id, country, id DESC);
-- The contacts list searches words by their beginning ("mar quis" finds María Quispe,
-- "valle.mx" finds carlos@valle.mx) in the name, WhatsApp name, company and e-mail:
-- a GIN index of a few words per contact answers a search of several common words
-- (a combination of common surnames) in milliseconds, where trigrams would read tens of
-- thousands of entries. Numbers are still found by any fragment through search_text.
ALTER TABLE contacts ADD COLUMN search_words tsvector GENERATED ALWAYS AS (
    to_tsvector('simple'::regconfig, search_fold(name || ' ' || profile_name || ' ' || company || ' ' || translate(email, '@.-_+', '     ') || ' ' || wa_id))) STORED;
CREATE INDEX contacts_words_idx ON contacts USING gin (search_words);
-- A number typed in full (any format) or by its last digits: prefix and suffix ranges of
-- the WhatsApp id, which trigrams of digits (shared by every number of a country) cannot
-- narrow down quickly.
CREATE INDEX contacts_wa_prefix_idx ON contacts (workspace_id, wa_id text_pattern_ops);
CREATE INDEX contacts_wa_suffix_idx ON contacts (workspace_id, reverse(wa_id) text_pattern_ops);

-- The free-text companies that already exist become companies.
INSERT INTO companies (workspace_id, name, created_at, updated_at)
SELECT DISTINCT ON (workspace_id, lower(btrim(company))) workspace_id, btrim(company), now(), now()
FROM contacts WHERE btrim(company) <> ''
ORDER BY workspace_id, lower(btrim(company)), btrim(company);
UPDATE contacts k SET company_id = co.id, company = co.name
FROM companies co WHERE co.workspace_id = k.workspace_id AND lower(co.name) = lower(btrim(k.company)) AND btrim(k.company) <> '';

-- Custom fields of contacts, defined by admins; values live in contacts.custom by key.
CREATE TABLE contact_fields (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    key           text NOT NULL,
    label         text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('text','number','date','select')),
    options       jsonb NOT NULL DEFAULT '[]',
    position      integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX contact_fields_workspace_key ON contact_fields (workspace_id, key);

-- A contact's timeline reads the audit log by target (profile edits, merges, imports).
CREATE INDEX audit_events_target_idx ON audit_events (workspace_id, target_type, target_id, created_at DESC);

-- CSV imports of contacts: one row per upload, run in the background batch by batch
-- (each batch one transaction that also advances "processed"), so the page can show
-- the progress and a run cut short resumes where it stopped.
CREATE TABLE contact_imports (
    id               bigserial PRIMARY KEY,
    workspace_id     bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id          bigint REFERENCES users(id) ON DELETE SET NULL,
    filename         text NOT NULL DEFAULT '',
    data             bytea NOT NULL,
    mapping          jsonb NOT NULL DEFAULT '{}',
    default_country  text NOT NULL DEFAULT '',
    status           text NOT NULL DEFAULT 'mapping' CHECK (status IN ('mapping','queued','running','done','failed')),
    total            integer NOT NULL DEFAULT 0,
    processed        integer NOT NULL DEFAULT 0,
    created          integer NOT NULL DEFAULT 0,
    updated          integer NOT NULL DEFAULT 0,
    failed           integer NOT NULL DEFAULT 0,
    error            text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz
);
CREATE INDEX contact_imports_workspace_idx ON contact_imports (workspace_id, id DESC);

-- The rows an import could not take, with their line number in the file.
CREATE TABLE contact_import_errors (
    workspace_id  bigint NOT NULL,
    import_id     bigint NOT NULL REFERENCES contact_imports(id) ON DELETE CASCADE,
    line          integer NOT NULL,
    message       text NOT NULL,
    PRIMARY KEY (import_id, line)
);

-- +goose Down
DROP TABLE contact_import_errors, contact_imports, contact_fields;
DROP INDEX IF EXISTS audit_events_target_idx;
ALTER TABLE contacts DROP COLUMN company_id, DROP COLUMN notes;
DROP INDEX IF EXISTS contacts_phone_idx;
DROP INDEX IF EXISTS contacts_list_idx;
DROP INDEX IF EXISTS contacts_owner_idx;
DROP INDEX IF EXISTS contacts_country_idx;
DROP INDEX IF EXISTS contacts_words_idx;
DROP INDEX IF EXISTS contacts_wa_prefix_idx;
DROP INDEX IF EXISTS contacts_wa_suffix_idx;
ALTER TABLE contacts DROP COLUMN search_words;
DROP TABLE companies;

-- +goose Up
-- The configuration routing, SLAs and reports share (issues 9 and 10). Each feature adds
-- its own working tables in later migrations; these are the settings an admin edits and an
-- import file carries.

-- SLA policies: targets in seconds (NULL = no target), measured on the wall clock or on
-- the team's business calendar, with a warning at a share of each target (metrics.md).
CREATE TABLE sla_policies (
    id                      bigserial PRIMARY KEY,
    workspace_id            bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name                    text NOT NULL,
    first_response_seconds  integer CHECK (first_response_seconds > 0),
    next_response_seconds   integer CHECK (next_response_seconds > 0),
    resolution_seconds      integer CHECK (resolution_seconds > 0),
    business_hours          boolean NOT NULL DEFAULT false,
    warning_percent         integer NOT NULL DEFAULT 80 CHECK (warning_percent BETWEEN 1 AND 99),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sla_policies_workspace_name_key ON sla_policies (workspace_id, lower(name));
UPDATE teams SET sla_policy_id = NULL WHERE sla_policy_id IS NOT NULL;
ALTER TABLE teams ADD CONSTRAINT teams_sla_policy_fk FOREIGN KEY (sla_policy_id) REFERENCES sla_policies(id) ON DELETE SET NULL;

-- A team's routing: strategy (teams.routing_mode), stickiness, how long an agent may be
-- away or silent before their chats go back to the queue, and its away message.
ALTER TABLE teams
    ADD COLUMN sticky                   boolean NOT NULL DEFAULT true,
    ADD COLUMN offline_grace_seconds    integer NOT NULL DEFAULT 600 CHECK (offline_grace_seconds >= 0),
    ADD COLUMN unanswered_limit_seconds integer CHECK (unanswered_limit_seconds > 0),
    ADD COLUMN away_message             text NOT NULL DEFAULT '';

-- An agent's own working schedule (a calendar); NULL = always inside their schedule.
ALTER TABLE users ADD COLUMN schedule_calendar_id bigint REFERENCES calendars(id) ON DELETE SET NULL;

-- A conversation's priority, set by a routing rule (or by hand).
ALTER TABLE conversations ADD COLUMN priority text NOT NULL DEFAULT ''
    CHECK (priority IN ('', 'low', 'normal', 'high', 'urgent'));

-- Routing rules, tried in position order on the message that opens a cycle. cond holds
-- the rule's condition: {"country":"MX"}, {"keywords":["precio","cotización"]},
-- {"menu_option":"1"}, {"stage_id":12}, {"channel_id":3}, {"company_owner":true},
-- {"default":true}.
CREATE TABLE routing_rules (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          text NOT NULL,
    position      integer NOT NULL DEFAULT 0,
    kind          text NOT NULL CHECK (kind IN ('menu_option','keywords','country','stage','company_owner','channel','default')),
    cond          jsonb NOT NULL DEFAULT '{}',
    team_id       bigint REFERENCES teams(id) ON DELETE CASCADE,
    label_id      bigint REFERENCES labels(id) ON DELETE SET NULL,
    priority      text NOT NULL DEFAULT '' CHECK (priority IN ('', 'low', 'normal', 'high', 'urgent')),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX routing_rules_workspace_name_key ON routing_rules (workspace_id, lower(name));
CREATE INDEX routing_rules_workspace_position_idx ON routing_rules (workspace_id, position, id);

-- The welcome menu of a channel: its text and numbered options
-- ([{"key":"1","title":"Ventas y nuevos servicios","team_id":3,"label_id":5}, …], at most 10).
CREATE TABLE channel_menus (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    channel_id    bigint NOT NULL UNIQUE REFERENCES channels(id) ON DELETE CASCADE,
    text          text NOT NULL,
    options       jsonb NOT NULL DEFAULT '[]',
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE channel_menus;
DROP TABLE routing_rules;
ALTER TABLE conversations DROP COLUMN priority;
ALTER TABLE users DROP COLUMN schedule_calendar_id;
ALTER TABLE teams DROP COLUMN away_message, DROP COLUMN unanswered_limit_seconds,
    DROP COLUMN offline_grace_seconds, DROP COLUMN sticky;
ALTER TABLE teams DROP CONSTRAINT teams_sla_policy_fk;
DROP TABLE sla_policies;

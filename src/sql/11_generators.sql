-- Generator set-returning functions: pure functions of their arguments.
-- The population is (users, seed, start_date): "users" sign up during the
-- first 365 days from start_date, and signups keep growing after that.
-- start_date NULL means the year ending at as_of.

CREATE OR REPLACE FUNCTION @extschema@.elt_users(
    users integer DEFAULT 1000, seed bigint DEFAULT 42,
    as_of date DEFAULT CURRENT_DATE, start_date date DEFAULT NULL,
    first_user integer DEFAULT 1, last_user integer DEFAULT NULL,
    history boolean DEFAULT true, since date DEFAULT NULL,
    params jsonb DEFAULT '{}')
RETURNS TABLE (user_id bigint, first_name text, last_name text, email text,
               signup_date date, plan_id integer, region_id integer,
               referral_source_id integer, valid_from timestamptz, valid_to timestamptz)
AS 'MODULE_PATHNAME', 'elt_users'
LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 2000;
COMMENT ON FUNCTION @extschema@.elt_users(integer, bigint, date, date, integer, integer, boolean, date, jsonb) IS
'Simulated users as of a day, with SCD2 versions [valid_from, valid_to). Pure: the same arguments give the same rows. first_user/last_user select a range of user indexes; history => false gives only current versions; since keeps versions starting on or after that day; params are the business parameters (see elt_params()).';

CREATE OR REPLACE FUNCTION @extschema@.elt_subscriptions(
    users integer DEFAULT 1000, seed bigint DEFAULT 42,
    as_of date DEFAULT CURRENT_DATE, start_date date DEFAULT NULL,
    first_user integer DEFAULT 1, last_user integer DEFAULT NULL,
    history boolean DEFAULT true, since date DEFAULT NULL,
    params jsonb DEFAULT '{}')
RETURNS TABLE (subscription_id bigint, user_id bigint, plan_id integer,
               start_date date, end_date date, payment_method_id integer,
               status text, renewal_count integer,
               valid_from timestamptz, valid_to timestamptz,
               billing_interval text, seats integer, discount_pct integer,
               trial_end date, mrr numeric(10,2))
AS 'MODULE_PATHNAME', 'elt_subscriptions'
LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 5000;
COMMENT ON FUNCTION @extschema@.elt_subscriptions(integer, bigint, date, date, integer, integer, boolean, date, jsonb) IS
'Simulated subscriptions as of a day, with SCD2 versions: one version per start, trial end, renewal, failed and recovered payment, cancellation and expiry. Arguments as for elt_users.';

CREATE OR REPLACE FUNCTION @extschema@.elt_usage(
    users integer DEFAULT 1000, seed bigint DEFAULT 42,
    as_of date DEFAULT CURRENT_DATE, start_date date DEFAULT NULL,
    first_user integer DEFAULT 1, last_user integer DEFAULT NULL,
    since date DEFAULT NULL, params jsonb DEFAULT '{}')
RETURNS TABLE (usage_id bigint, user_id bigint, plan_id integer,
               subscription_id bigint, usage_date date, actions_performed integer,
               storage_used_mb integer, api_calls integer, active_minutes integer)
AS 'MODULE_PATHNAME', 'elt_usage'
LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 50000;
COMMENT ON FUNCTION @extschema@.elt_usage(integer, bigint, date, date, integer, integer, date, jsonb) IS
'Simulated daily usage from since (default: start of the window) through as_of, one row per user and active day, within monthly plan quotas. Arguments as for elt_users.';

CREATE OR REPLACE FUNCTION elt.elt__model_version()
RETURNS integer
AS 'MODULE_PATHNAME', 'elt_model_version'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION elt.elt__model_version() IS
'Version of the simulation model of this library: the same seed, parameters and model version give the same rows. elt.settings records the version that generated the data.';

CREATE OR REPLACE FUNCTION elt.elt__params(params jsonb)
RETURNS TABLE (name text, value jsonb, default_value jsonb, allowed text, description text)
AS 'MODULE_PATHNAME', 'elt__params'
LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 14;
COMMENT ON FUNCTION elt.elt__params(jsonb) IS
'Internal: the business parameters with the values params give them (22023 for an unknown key or a value out of range).';

CREATE OR REPLACE FUNCTION @extschema@.elt_params(params jsonb DEFAULT '{}')
RETURNS TABLE (name text, value jsonb, default_value jsonb, allowed text, description text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT p.name, p.value, p.default_value, p.allowed, p.description FROM elt.elt__params(params) p;
END;
COMMENT ON FUNCTION @extschema@.elt_params(jsonb) IS
'The parameters of the simulated business: name, the value in force for params (default ''{}'': the b2b preset), the default, the values allowed and a description. elt_generate(..., params) and the generator functions take the same jsonb; an unknown key or a value out of range raises 22023.';

-- Internal: every parameter in force for params, as one jsonb object (what
-- elt.settings keeps, so that elt_refresh continues with the same values).
CREATE OR REPLACE FUNCTION elt.elt__params_in_force(params jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT pg_catalog.jsonb_object_agg(p.name, p.value) FROM elt.elt__params(params) p;
END;
COMMENT ON FUNCTION elt.elt__params_in_force(jsonb) IS
'Internal: every business parameter in force for params, as one jsonb object.';

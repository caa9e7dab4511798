-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION elt" to load this file. \quit

-- Static lookups of the simulated SaaS, as C set-returning functions.

CREATE OR REPLACE FUNCTION @extschema@.elt_regions(
    OUT region_id integer, OUT region_name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'elt_regions'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 6;
COMMENT ON FUNCTION @extschema@.elt_regions() IS
'Regions of the simulated SaaS (lookup rows).';

CREATE OR REPLACE FUNCTION @extschema@.elt_referral_sources(
    OUT referral_source_id integer, OUT referral_source_name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'elt_referral_sources'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION @extschema@.elt_referral_sources() IS
'Referral sources through which simulated users sign up (lookup rows).';

CREATE OR REPLACE FUNCTION @extschema@.elt_payment_methods(
    OUT payment_method_id integer, OUT payment_method_name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'elt_payment_methods'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION @extschema@.elt_payment_methods() IS
'Payment methods of subscriptions; N/A is used for free plans (lookup rows).';

CREATE OR REPLACE FUNCTION @extschema@.elt_plans(
    OUT plan_id integer, OUT plan_name text, OUT monthly_price numeric,
    OUT max_users integer, OUT api_limit integer, OUT storage_limit_mb integer,
    OUT project_limit integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'elt_plans'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 5;
COMMENT ON FUNCTION @extschema@.elt_plans() IS
'Subscription plans with monthly price and limits; NULL limits mean unlimited (lookup rows).';

CREATE OR REPLACE FUNCTION @extschema@.elt_plan_features(
    OUT feature_id integer, OUT plan_id integer, OUT feature_name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'elt_plan_features'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 43;
COMMENT ON FUNCTION @extschema@.elt_plan_features() IS
'Features included in each plan, one row per plan and feature (lookup rows).';

-- pgTAP: elt_generate sizes its work before writing: the estimate from a
-- sample of users is close to what it writes, and elt.max_generate_rows
-- refuses a larger population (54000) with nothing written.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SET LOCAL client_min_messages = warning;
SELECT plan(9);

SELECT lives_ok($$SELECT elt_generate(3000, 42, '2025-06-30', build_marts => false)$$, 'elt_generate(3000) runs');
CREATE TEMP TABLE est AS SELECT * FROM elt.elt__estimate(3000, 42, '2025-06-30', NULL, '{}', false);
SELECT cmp_ok(abs((SELECT usage_rows FROM est) / (SELECT count(*) FROM elt_raw.usage)::numeric - 1), '<', 0.10,
              'the usage estimate is within 10 % of the rows written');
SELECT cmp_ok(abs((SELECT subscriptions_rows FROM est) / (SELECT count(*) FROM elt_raw.subscriptions)::numeric - 1), '<', 0.10,
              'the subscriptions estimate is within 10 % of the rows written');
SELECT cmp_ok(abs((SELECT users_rows FROM est) / (SELECT count(*) FROM elt_raw.users)::numeric - 1), '<', 0.10,
              'the users estimate is within 10 % of the rows written');
SELECT cmp_ok(abs((SELECT bytes FROM est) / (SELECT sum(pg_total_relation_size(format('elt_raw.%I', t)::regclass))
                                              FROM unnest(ARRAY['users', 'subscriptions', 'usage']) t)::numeric - 1), '<', 0.35,
              'the size estimate of elt_raw is within 35 % of its size on disk');

CREATE TEMP TABLE before AS SELECT (SELECT count(*) FROM elt_raw.usage) AS usage_rows, (SELECT clock FROM elt.settings) AS clock;
SET LOCAL elt.max_generate_rows = 1000;
SELECT throws_ok($$SELECT elt_generate(3000, 7, '2025-12-31')$$, '54000', NULL,
                 'more rows than elt.max_generate_rows: 54000');
SELECT results_eq($$SELECT (SELECT count(*) FROM elt_raw.usage), (SELECT clock FROM elt.settings)$$,
                  $$SELECT usage_rows, clock FROM before$$, 'nothing written after the refusal');
SELECT lives_ok($$SELECT elt_generate(20, 7, '2025-12-31', build_marts => false)$$, 'a population under the limit runs');
SET LOCAL elt.max_generate_rows = 0;
SELECT lives_ok($$SELECT elt_generate(3000, 7, '2025-06-30', build_marts => false)$$, '0 means no limit');

SELECT * FROM finish();
ROLLBACK;

-- elt_generate on a small fixed population: counts, a look at the rows,
-- pinned content hashes (determinism), chunking, and bad input.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
CREATE EXTENSION elt;
SELECT * FROM elt_generate(50, 7, '2024-03-31');

-- The population is (users, seed, start_date): by default the year ending at as_of.
SELECT seed, users, start_date, clock FROM elt.settings;
SELECT kind, clock_before, clock_after, status, rows->>'elt_raw.users' AS users FROM elt.run_log;

-- The first users' whole history.
SELECT signup_date, first_name, last_name, plan_id, region_id, referral_source_id,
       valid_from::date, valid_to::date
FROM elt_raw.users ORDER BY signup_date, user_id, valid_from LIMIT 8;
SELECT s.start_date, s.end_date, s.plan_id, s.payment_method_id, s.status, s.renewal_count,
       s.valid_from::date, s.valid_to::date, s.billing_interval, s.seats, s.discount_pct, s.trial_end, s.mrr
FROM elt_raw.subscriptions s
JOIN (SELECT user_id FROM elt_raw.users WHERE valid_to IS NULL ORDER BY signup_date, user_id LIMIT 2) u USING (user_id)
ORDER BY s.start_date, s.valid_from;

-- Pinned hashes of the ordered contents of every generated table.
SELECT 'users' AS t, md5(string_agg(u::text, '|' ORDER BY user_id, valid_from)) FROM elt_raw.users u
UNION ALL
SELECT 'subscriptions', md5(string_agg(s::text, '|' ORDER BY subscription_id, valid_from)) FROM elt_raw.subscriptions s
UNION ALL
SELECT 'usage', md5(string_agg(x::text, '|' ORDER BY usage_id)) FROM elt_raw.usage x;

-- A second run gives the same; the SRFs give the same rows as the tables.
CREATE TEMP TABLE h1 AS
SELECT md5(string_agg(u::text, '|' ORDER BY user_id, valid_from)) AS h FROM elt_raw.users u;
SELECT count(*) FROM elt_generate(50, 7, '2024-03-31');
SELECT h = (SELECT md5(string_agg(u::text, '|' ORDER BY user_id, valid_from)) FROM elt_raw.users u) AS same_again FROM h1;
SELECT h = (SELECT md5(string_agg(u::text, '|' ORDER BY user_id, valid_from))
            FROM elt_users(50, 7, '2024-03-31') u) AS srf_equals_table FROM h1;
SELECT h <> (SELECT md5(string_agg(u::text, '|' ORDER BY user_id, valid_from))
             FROM elt_users(50, 8, '2024-03-31') u) AS other_seed_differs FROM h1;

-- Bad input: a clear error, nothing written.
\set SHOW_CONTEXT never
SELECT elt_generate(0);
SELECT elt_generate(-5);
SELECT elt_generate(NULL);
SELECT elt_generate(10, NULL);
SELECT elt_generate(10, 1, '2024-01-01', start_date => '2024-06-01');
SELECT elt_generate(10, 1, '1999-12-31');
SELECT elt_generate(10, 1, 'infinity');
SELECT elt_generate(2000000000, 1, '2900-01-01', '2000-01-01');
SELECT * FROM elt_users(10, 1, '2024-01-01', first_user => 0);
SELECT * FROM elt_users(10, 1, '2024-01-01', first_user => 5, last_user => 4);
SELECT count(*) AS users_rows_still FROM elt_raw.users;
DROP EXTENSION elt;

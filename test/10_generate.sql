-- pgTAP: elt_generate and the generator SRFs: integrity, determinism,
-- chunking, realism of the mixes, bad input, and timeouts.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SET LOCAL TimeZone = 'UTC';
SELECT plan(48);

SELECT lives_ok($$SELECT elt_generate(2000, 42, '2025-06-30', build_marts => false)$$, 'elt_generate(2000) runs');

-- loaded like COPY FREEZE (the TRUNCATE was in the same transaction): every
-- page all-visible and all-frozen, so that first readers set no hint bits;
-- and analysed, so that the first refreshes plan with statistics
CREATE EXTENSION IF NOT EXISTS pg_visibility;
SELECT results_eq($$SELECT v.all_visible = b.n AND v.all_frozen = b.n AND b.n > 0
                    FROM pg_visibility_map_summary('elt_raw.usage') v,
                         (SELECT pg_relation_size('elt_raw.usage') / current_setting('block_size')::int AS n) b$$,
                  $$VALUES (true)$$, 'usage pages are all-visible and frozen after elt_generate');
SELECT ok((SELECT count(*) FROM pg_stats WHERE schemaname = 'elt_raw'
            AND tablename IN ('users', 'subscriptions', 'usage') AND attname IN ('valid_from', 'usage_date')) = 3,
          'elt_generate analysed users, subscriptions and usage');

-- keys and foreign keys
SELECT col_is_pk('elt_raw', 'users', ARRAY['user_id', 'valid_from'], 'users: PK (user_id, valid_from)');
SELECT col_is_pk('elt_raw', 'subscriptions', ARRAY['subscription_id', 'valid_from'], 'subscriptions: PK (subscription_id, valid_from)');
SELECT col_is_pk('elt_raw', 'usage', 'usage_id', 'usage: PK usage_id');
SELECT fk_ok('elt_raw', 'users', 'plan_id', 'elt_raw', 'plans', 'plan_id');
SELECT fk_ok('elt_raw', 'users', 'region_id', 'elt_raw', 'regions', 'region_id');
SELECT fk_ok('elt_raw', 'users', 'referral_source_id', 'elt_raw', 'referral_sources', 'referral_source_id');
SELECT fk_ok('elt_raw', 'subscriptions', 'payment_method_id', 'elt_raw', 'payment_methods', 'payment_method_id');
SELECT fk_ok('elt_raw', 'usage', 'plan_id', 'elt_raw', 'plans', 'plan_id');
SELECT is_empty($$SELECT 1 FROM elt_raw.users u LEFT JOIN elt_raw.plans p USING (plan_id)
                  LEFT JOIN elt_raw.regions r USING (region_id)
                  LEFT JOIN elt_raw.referral_sources f USING (referral_source_id)
                  WHERE p.plan_id IS NULL OR r.region_id IS NULL OR f.referral_source_id IS NULL$$,
                'every user version resolves its lookups');
SELECT is_empty($$SELECT 1 FROM elt_raw.subscriptions s
                  WHERE NOT EXISTS (SELECT 1 FROM elt_raw.users u WHERE u.user_id = s.user_id)
                     OR NOT EXISTS (SELECT 1 FROM elt_raw.payment_methods m WHERE m.payment_method_id = s.payment_method_id)$$,
                'every subscription has its user and payment method');
SELECT is_empty($$SELECT 1 FROM elt_raw.usage x
                  WHERE NOT EXISTS (SELECT 1 FROM elt_raw.subscriptions s
                                    WHERE s.subscription_id = x.subscription_id AND s.user_id = x.user_id
                                      AND s.plan_id = x.plan_id)$$,
                'every usage row has its subscription, user and plan');

-- SCD2 shape
SELECT is_empty($$SELECT user_id FROM elt_raw.users GROUP BY user_id HAVING count(*) FILTER (WHERE valid_to IS NULL) <> 1$$,
                'users: exactly one current version per key');
SELECT is_empty($$SELECT subscription_id FROM elt_raw.subscriptions GROUP BY subscription_id
                  HAVING count(*) FILTER (WHERE valid_to IS NULL) <> 1$$,
                'subscriptions: exactly one current version per key');
SELECT is_empty($$SELECT 1 FROM (SELECT valid_to, lead(valid_from) OVER w AS next_from
                                 FROM elt_raw.users WINDOW w AS (PARTITION BY user_id ORDER BY valid_from)) v
                  WHERE valid_to IS DISTINCT FROM next_from$$,
                'users: versions neither overlap nor leave gaps');
SELECT is_empty($$SELECT 1 FROM (SELECT valid_to, lead(valid_from) OVER w AS next_from
                                 FROM elt_raw.subscriptions WINDOW w AS (PARTITION BY subscription_id ORDER BY valid_from)) v
                  WHERE valid_to IS DISTINCT FROM next_from$$,
                'subscriptions: versions neither overlap nor leave gaps');
SELECT is_empty($$SELECT 1 FROM (SELECT u.*, lag(u) OVER w AS prev FROM elt_raw.users u
                                 WINDOW w AS (PARTITION BY user_id ORDER BY valid_from)) v
                  WHERE (v.email, v.plan_id, v.region_id) IS NOT DISTINCT FROM ((v.prev).email, (v.prev).plan_id, (v.prev).region_id)$$,
                'users: every version differs from the one before');
SELECT is_empty($$SELECT 1 FROM elt_raw.users WHERE valid_from::date > '2025-06-30' OR valid_to::date > '2025-06-30'
                  UNION ALL SELECT 1 FROM elt_raw.subscriptions WHERE valid_from::date > '2025-06-30' OR valid_to::date > '2025-06-30'
                  UNION ALL SELECT 1 FROM elt_raw.usage WHERE usage_date > '2025-06-30'$$,
                'nothing after as_of');
SELECT is_empty($$SELECT 1 FROM elt_raw.users WHERE valid_from <> date_trunc('day', valid_from)$$,
                'versions start at midnight UTC of a business day');

-- the business rules
SELECT is_empty($$SELECT 1 FROM elt_raw.subscriptions WHERE end_date <= start_date$$, 'end_date > start_date');
SELECT is_empty($$SELECT 1 FROM elt_raw.subscriptions WHERE valid_to IS NULL AND (
                    (status = 'active' AND end_date <= '2025-06-30')
                 OR (status = 'expired' AND (end_date IS NULL OR end_date > '2025-06-30')))$$,
                'statuses agree with as_of');
SELECT is_empty($$SELECT 1 FROM elt_raw.subscriptions WHERE (plan_id = 1) <> (payment_method_id = 4)$$,
                'N/A payment exactly for free plans');
SELECT is_empty($$SELECT 1 FROM elt_raw.subscriptions WHERE end_date IS NULL AND plan_id <> 1$$,
                'only free subscriptions are open-ended');
SELECT is_empty($$SELECT 1 FROM elt_raw.subscriptions a JOIN elt_raw.subscriptions b
                    ON a.user_id = b.user_id AND a.subscription_id < b.subscription_id
                   AND a.valid_to IS NULL AND b.valid_to IS NULL
                   AND daterange(a.start_date, a.end_date) && daterange(b.start_date, b.end_date)$$,
                'a user has at most one subscription on any day');
SELECT is_empty($$SELECT 1 FROM elt_raw.usage x JOIN elt_raw.subscriptions s
                    ON s.subscription_id = x.subscription_id AND s.valid_to IS NULL
                  WHERE x.usage_date < s.start_date OR x.usage_date >= coalesce(s.end_date, 'infinity')$$,
                'usage dates lie inside their subscription');
SELECT is_empty($$SELECT 1 FROM elt_raw.usage x JOIN elt_raw.users u ON u.user_id = x.user_id AND u.valid_to IS NULL
                  WHERE x.usage_date < u.signup_date$$, 'no usage before signup');
SELECT is_empty($$
    WITH p AS (
        SELECT x.*, s.start_date,
               ((extract(year FROM x.usage_date) * 12 + extract(month FROM x.usage_date))
                - (extract(year FROM s.start_date) * 12 + extract(month FROM s.start_date)))::int AS k
        FROM elt_raw.usage x JOIN elt_raw.subscriptions s ON s.subscription_id = x.subscription_id AND s.valid_to IS NULL),
    q AS (SELECT *, CASE WHEN start_date + make_interval(months => k) > usage_date THEN k - 1 ELSE k END AS period FROM p)
    SELECT subscription_id, period FROM q JOIN elt_raw.plans USING (plan_id)
    GROUP BY subscription_id, period, api_limit
    HAVING sum(api_calls) > api_limit$$,
    'API calls never exceed the plan quota within a monthly period');
SELECT is_empty($$SELECT 1 FROM elt_raw.usage x JOIN elt_raw.plans p USING (plan_id) WHERE x.storage_used_mb > p.storage_limit_mb$$,
    'storage held never exceeds the plan limit');
SELECT ok((SELECT count(*) FROM elt_raw.usage x JOIN elt_raw.plans p USING (plan_id) WHERE p.plan_id = 1) > 0
          AND (SELECT count(DISTINCT subscription_id) FROM elt_raw.usage WHERE plan_id = 1) > 0,
          'free users produce usage');
SELECT is_empty($$SELECT u.user_id FROM elt_raw.users u
                  JOIN LATERAL (SELECT plan_id FROM elt_raw.subscriptions s
                                WHERE s.user_id = u.user_id AND s.valid_to IS NULL
                                ORDER BY start_date DESC LIMIT 1) last ON true
                  WHERE u.valid_to IS NULL AND u.plan_id <> last.plan_id$$,
                'a user''s plan is that of the latest subscription');
SELECT is_empty($$SELECT email FROM elt_raw.users GROUP BY email HAVING count(DISTINCT user_id) > 1$$,
                'emails are unique across users');
SELECT ok((SELECT count(*) FROM (SELECT DISTINCT user_id FROM elt_raw.users WHERE valid_to IS NULL) c) = 2000,
          '2000 users signed up by as_of (the default window is the year ending at as_of)');
SELECT ok((SELECT count(DISTINCT email) FROM elt_raw.users) > 2000
          AND (SELECT count(DISTINCT plan_id) FROM elt_raw.users) = 5
          AND (SELECT count(*) FROM elt_raw.subscriptions WHERE status = 'cancelled') > 0
          AND (SELECT count(*) FROM elt_raw.subscriptions WHERE status = 'expired') > 0
          AND (SELECT max(renewal_count) FROM elt_raw.subscriptions) >= 6,
          'users change email and plan; subscriptions renew, expire and get cancelled');

-- determinism and chunking
SELECT is_empty($$(SELECT * FROM elt_users(2000, 42, '2025-06-30', last_user => 700)
                   UNION ALL SELECT * FROM elt_users(2000, 42, '2025-06-30', first_user => 701))
                  EXCEPT ALL SELECT * FROM elt_raw.users$$, 'users in two chunks equal the table');
SELECT is_empty($$(SELECT * FROM elt_usage(2000, 42, '2025-06-30', last_user => 1000)
                   UNION ALL SELECT * FROM elt_usage(2000, 42, '2025-06-30', first_user => 1001))
                  EXCEPT ALL SELECT * FROM elt_raw.usage$$, 'usage in two chunks equals the table');
SELECT is((SELECT count(*) FROM elt_subscriptions(2000, 42, '2025-06-30', first_user => 1, last_user => 1000))
          + (SELECT count(*) FROM elt_subscriptions(2000, 42, '2025-06-30', first_user => 1001)),
          (SELECT count(*) FROM elt_raw.subscriptions), 'subscriptions in two chunks count the table');
SELECT is_empty($$SELECT * FROM elt_usage(2000, 42, '2025-06-30', since => '2025-06-01')
                  EXCEPT ALL SELECT * FROM elt_raw.usage WHERE usage_date >= '2025-06-01'$$,
                'usage from a later day equals the tail of the whole (quota state does not depend on the range)');
SELECT is_empty($$SELECT * FROM elt_users(2000, 42, '2025-03-31', '2024-07-01', history => false)
                  EXCEPT SELECT user_id, first_name, last_name, email, signup_date, plan_id, region_id,
                                referral_source_id, valid_from, NULL FROM elt_raw.users
                  WHERE valid_from <= '2025-03-31' AND (valid_to IS NULL OR valid_to > '2025-03-31')$$,
                'a snapshot at an earlier day equals the history as of that day');

-- bad input: errors with SQLSTATEs, nothing written
SELECT throws_ok($$SELECT elt_generate(0)$$, '22023', NULL, 'users = 0: 22023');
SELECT throws_ok($$SELECT elt_generate(NULL)$$, '22004', NULL, 'users NULL: 22004');
SELECT throws_ok($$SELECT elt_generate(10, 1, '2024-01-01', '2024-06-01')$$, '22023', NULL, 'as_of before window: 22023');
SELECT throws_ok($$SELECT * FROM elt_usage(10, 1, '2024-01-01', first_user => -1)$$, '22023', NULL, 'SRF user range: 22023');
SELECT is((SELECT count(*)::int FROM elt_raw.users WHERE valid_to IS NULL), 2000, 'failed calls wrote nothing');

-- a timed-out elt_generate leaves elt_raw as it was (WHEN OTHERS, and so
-- throws_ok, does not catch cancels: name query_canceled)
CREATE FUNCTION pg_temp.run_until_cancelled(sql text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE sql;
    RETURN 'finished';
EXCEPTION WHEN query_canceled THEN
    RETURN SQLSTATE;
END $f$;
SET LOCAL statement_timeout = '300ms';
SELECT is(pg_temp.run_until_cancelled($$SELECT elt_generate(300000, 1, '2025-06-30', build_marts => false)$$),
          '57014', 'statement_timeout cancels elt_generate');
RESET statement_timeout;
SELECT is((SELECT count(*)::int FROM elt_raw.users WHERE valid_to IS NULL), 2000, 'the cancelled call left elt_raw as it was');
SELECT is((SELECT seed FROM elt.settings), 42::bigint, 'and elt.settings too');

SELECT * FROM finish();
ROLLBACK;

-- pgTAP: realistic people.  Names follow the signup region with a
-- Zipf-like popularity over about 680 first and 650 last names, full names
-- rarely repeat, emails stay unique, and every email domain is a reserved
-- name (RFC 2606 / 6761) that can never reach anyone.  On 20,000 users (as of
-- 2025-06-30, no marts); 0.05 % of them is 10 users.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SET TimeZone = 'UTC';
SET client_min_messages = warning;
SELECT plan(14);
SELECT count(*) FROM elt_generate(20000, 42, '2025-06-30', build_marts => false);

-- each user's first version: names and the plan are those of the signup
CREATE TEMP TABLE u0 AS
SELECT DISTINCT ON (user_id) user_id, first_name, last_name, email, plan_id, region_id
FROM elt_raw.users ORDER BY user_id, valid_from;
CREATE TEMP TABLE personal(domain) AS
VALUES ('gmail.example'), ('outlook.example'), ('yahoo.example'), ('icloud.example'), ('proton.example'),
       ('hotmail.example'), ('example.com'), ('example.org'), ('example.net');
CREATE TEMP TABLE topf AS
SELECT region_id, first_name, n, n::numeric / sum(n) OVER (PARTITION BY region_id) AS share,
       row_number() OVER (PARTITION BY region_id ORDER BY n DESC, first_name) AS rk
FROM (SELECT region_id, first_name, count(*) AS n FROM u0 GROUP BY 1, 2) x;
CREATE TEMP TABLE topl AS
SELECT region_id, last_name, n, n::numeric / sum(n) OVER (PARTITION BY region_id) AS share,
       row_number() OVER (PARTITION BY region_id ORDER BY n DESC, last_name) AS rk
FROM (SELECT region_id, last_name, count(*) AS n FROM u0 GROUP BY 1, 2) x;

SELECT is((SELECT count(*)::int FROM u0), 20000, '20,000 users');
SELECT cmp_ok((SELECT count(DISTINCT first_name)::int FROM u0), '>=', 400, 'at least 400 distinct first names');
SELECT cmp_ok((SELECT count(DISTINCT last_name)::int FROM u0), '>=', 400, 'at least 400 distinct last names');
SELECT cmp_ok((SELECT max(n)::numeric / 20000 FROM (SELECT count(*) AS n FROM u0 GROUP BY first_name, last_name) x),
              '<=', 0.0005, 'the most common full name has at most 0.05 % of users');
SELECT ok((SELECT bool_and(share BETWEEN 0.015 AND 0.04) FROM topf WHERE rk = 1 AND region_id IN (1, 2, 3)),
          'the most common first name of North America, Europe and Asia has 1.5-4 % of the region''s users');
SELECT ok((SELECT bool_and(share BETWEEN 0.012 AND 0.025) FROM topl WHERE rk = 1 AND region_id IN (1, 2, 3)),
          'the most common last name of North America, Europe and Asia has 1.2-2.5 % of the region''s users');
SELECT cmp_ok((SELECT avg((first_name IN (SELECT first_name FROM topf WHERE region_id = 1 AND rk <= 20))::int)
               FROM u0 WHERE region_id = 3), '<', 0.05::numeric,
              'names follow the region: under 5 % of Asia users have one of North America''s 20 most common first names');
SELECT cmp_ok((SELECT avg((last_name IN (SELECT last_name FROM topl WHERE region_id = 2 AND rk <= 20))::int)
               FROM u0 WHERE region_id = 5), '<', 0.05::numeric,
              'names follow the region: under 5 % of Africa users have one of Europe''s 20 most common last names');
SELECT is_empty($$SELECT first_name, last_name FROM u0
                  WHERE (first_name, last_name) IN (('Michael', 'Jackson'), ('Jennifer', 'Lopez'), ('Thomas', 'Muller'),
                                                    ('Thiago', 'Silva'), ('Amit', 'Shah'), ('James', 'Brown'))$$,
                'full names of well-known people are not drawn');

-- emails
SELECT is_empty($$SELECT email FROM elt_raw.users GROUP BY email HAVING count(DISTINCT user_id) > 1$$,
                'emails are unique across users');
SELECT is_empty($$SELECT email FROM elt_raw.users
                  WHERE NOT (split_part(email, '@', 2) ~ '^[a-z]+(-[a-z]+)*\.example$'
                             OR split_part(email, '@', 2) IN ('example.com', 'example.org', 'example.net'))$$,
                'every email domain is reserved: *.example or example.com / .org / .net');
SELECT is_empty($$SELECT email FROM elt_raw.users WHERE email !~ '^[a-z0-9-]+\.[a-z0-9-]+\.[a-z0-9]+(\.[0-9]+)?@[a-z.-]+$'$$,
                'addresses are first.last.token[.version]@domain in lower case (spaces and apostrophes dropped)');
SELECT ok((SELECT bool_and((u0.plan_id >= 4) = (p.domain IS NULL))
           FROM elt_raw.users u JOIN u0 USING (user_id) LEFT JOIN personal p ON p.domain = split_part(u.email, '@', 2)),
          'business-plan signups use company domains, the others personal-mail providers');
SELECT ok((SELECT count(DISTINCT split_part(email, '@', 2)) >= 0.5 * count(*) FROM u0 WHERE plan_id >= 4)
          AND (SELECT avg((split_part(email, '@', 2) IN ('gmail.example', 'outlook.example'))::int) > 0.5
               FROM u0 WHERE plan_id < 4),
          'company domains are varied; most personal addresses are on the two biggest providers');

SELECT * FROM finish();
ROLLBACK;

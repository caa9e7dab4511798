-- elt_scd2_merge: readable cases.  Errors raised inside the merge's own
-- statements would carry their SQL as CONTEXT; hide it.
\set SHOW_CONTEXT never
CREATE EXTENSION elt;
SET TimeZone = 'UTC';

CREATE TABLE dim_customer (
    id         int NOT NULL,
    name       text,
    tier       int,
    loaded_by  text DEFAULT 'elt',          -- target-only: gets its default
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz,
    CHECK (valid_to > valid_from)
);
CREATE UNIQUE INDEX dim_customer_current ON dim_customer (id) WHERE valid_to IS NULL;
CREATE TABLE customer_src (id int, name text, tier int, note text);  -- note: source-only

CREATE VIEW history AS
SELECT id, name, tier, loaded_by, valid_from::date AS "from", valid_to::date AS "to"
FROM dim_customer ORDER BY id, valid_from;

-- first load: every key is new
INSERT INTO customer_src VALUES (1, 'Ada', 1, 'x'), (2, 'Bob', NULL, 'y'), (3, 'Cy', 3, 'z'), (4, NULL, NULL, NULL);
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-01-01');
SELECT * FROM history;

-- the same snapshot at the same as_of changes nothing
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-01-01');
-- nor at a later as_of
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-01-02');

-- NULL -> value (2), value -> NULL (3), NULL -> NULL (4, unchanged),
-- a source-only column changing (1) is not a change; 5 is new
UPDATE customer_src SET tier = 2 WHERE id = 2;
UPDATE customer_src SET tier = NULL WHERE id = 3;
UPDATE customer_src SET note = 'changed' WHERE id = 1;
INSERT INTO customer_src VALUES (5, 'Eve', 5, NULL);
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-01-03');
SELECT * FROM history;

-- a key that disappears is closed at as_of ...
DELETE FROM customer_src WHERE id = 1;
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-01-04');
-- ... and when it comes back it gets one new current version
INSERT INTO customer_src VALUES (1, 'Ada', 1, 'back');
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-01-05');
SELECT * FROM history WHERE id = 1;

-- hard_deletes => 'ignore': a missing key stays current
DELETE FROM customer_src WHERE id = 5;
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-01-06', hard_deletes => 'ignore');
SELECT * FROM history WHERE id = 5;

-- tracked columns: only a change in tier makes a new version
UPDATE customer_src SET name = 'Robert' WHERE id = 2;
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-01-07', tracked => '{tier}', hard_deletes => 'ignore');
UPDATE customer_src SET tier = 9 WHERE id = 2;
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-01-07', tracked => '{tier}', hard_deletes => 'ignore');
SELECT * FROM history WHERE id = 2;

-- as_of equal to the newest valid_from: a corrected snapshot for the same
-- as_of replaces the versions that start at as_of, in place (the last
-- snapshot for an as_of wins; no empty [t, t) interval, never two current rows)
UPDATE customer_src SET tier = 8 WHERE id = 2;
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-01-07', hard_deletes => 'ignore');
SELECT * FROM history WHERE id = 2;
-- a key whose version started at as_of and is now missing: that version goes
DELETE FROM customer_src WHERE id = 2;
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-01-07');
SELECT * FROM history WHERE id IN (2, 5);

-- as_of before the newest version boundary: refused, nothing written
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-01-06');

-- composite keys, mixed-case and odd identifiers
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Hist; drop table x" (
    "Region" text NOT NULL, "user id" int NOT NULL, "Value""q" numeric,
    valid_from timestamptz NOT NULL, valid_to timestamptz);
CREATE TABLE "Odd Schema"."src ""table""" ("Region" text, "user id" int, "Value""q" numeric);
INSERT INTO "Odd Schema"."src ""table""" VALUES ('eu', 1, 1.5), ('us', 1, 2), ('eu', 2, NULL);
SELECT * FROM elt_scd2_merge('"Odd Schema"."Hist; drop table x"', '"Odd Schema"."src ""table"""',
                             '{Region,user id}', '2024-02-01');
UPDATE "Odd Schema"."src ""table""" SET "Value""q" = 3 WHERE "Region" = 'eu' AND "user id" = 2;
SELECT * FROM elt_scd2_merge('"Odd Schema"."Hist; drop table x"', '"Odd Schema"."src ""table"""',
                             '{Region,user id}', '2024-02-02');
SELECT "Region", "user id", "Value""q", valid_from::date, valid_to::date
FROM "Odd Schema"."Hist; drop table x" ORDER BY 1, 2, 4;

-- bad input: clear errors, nothing written
INSERT INTO customer_src VALUES (3, 'dup', 1, NULL);
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-02-01');
DELETE FROM customer_src WHERE name = 'dup';
INSERT INTO customer_src VALUES (NULL, 'no key', 1, NULL);
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-02-01');
DELETE FROM customer_src WHERE id IS NULL;
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-02-01', hard_deletes => 'forget');
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{}', '2024-02-01');
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{nope}', '2024-02-01');
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', '{id}', '2024-02-01', tracked => '{loaded_by}');
SELECT * FROM elt_scd2_merge('dim_customer', 'customer_src', NULL, '2024-02-01');
SELECT * FROM elt_scd2_merge('customer_src', 'dim_customer', '{id}', '2024-02-01');
SELECT * FROM elt_scd2_merge('history', 'customer_src', '{id}', '2024-02-01');
SELECT * FROM elt_scd2_merge('no_such_table', 'customer_src', '{id}', '2024-02-01');
SELECT count(*) AS versions, count(*) FILTER (WHERE valid_to IS NULL) AS current FROM dim_customer;

DROP SCHEMA "Odd Schema" CASCADE;
DROP VIEW history;
DROP TABLE dim_customer, customer_src;
DROP EXTENSION elt;

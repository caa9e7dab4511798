-- pgTAP: elt_status reads as a person would want: "not generated yet" on an
-- empty database, runs as one readable line (no JSON), the refresh's days.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION elt;
SET LOCAL client_min_messages = warning;
SELECT plan(5);

SELECT results_eq($$SELECT kind, status FROM elt_status()$$, $$VALUES ('clock'::text, 'not generated yet'::text)$$,
                  'before elt_generate: one clock row saying so');
SELECT lives_ok($$SELECT elt_generate(200, 3, '2025-03-01')$$, 'elt_generate(200)');
SELECT lives_ok($$SELECT elt_refresh(2)$$, 'elt_refresh(2)');
SELECT matches((SELECT detail FROM elt_status() WHERE name = 'generate #1'),
               '^clock 2025-03-01; [0-9]+ rows in elt_raw \(users [0-9]+, subscriptions [0-9]+, usage [0-9]+\), [0-9]+ in elt_mart; [0-9.]+ s$',
               'a generate run: its clock, rows per schema and table, and its time, without JSON');
SELECT matches((SELECT detail FROM elt_status() WHERE name LIKE 'refresh #%'),
               '^clock 2025-03-01 -> 2025-03-03; [0-9]+ rows in elt_raw \(users [0-9]+, subscriptions [0-9]+, usage [0-9]+\); [0-9.]+ s$',
               'a refresh run: the clock before and after, rows, time');

SELECT * FROM finish();
ROLLBACK;

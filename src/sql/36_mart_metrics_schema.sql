-- elt_mart tables of the SaaS metrics (added in 0.2.0; the upgrade from
-- 0.1.0 runs this file too, NEW_SCHEMA in the Makefile): cohort retention and the monthly headline
-- metrics.  Their builders are in 37_mart_metrics.sql.

CREATE TABLE elt_mart.fct_cohort_retention (
    cohort_kind          text    NOT NULL CHECK (cohort_kind IN ('signup', 'first_paid')),
    cohort_month         date    NOT NULL,
    months_since         integer NOT NULL CHECK (months_since >= 0),
    month_start          date    NOT NULL,
    cohort_date_key      integer NOT NULL REFERENCES elt_mart.dim_date,
    date_key             integer NOT NULL REFERENCES elt_mart.dim_date,
    accounts_start       integer NOT NULL CHECK (accounts_start >= 0),
    accounts_retained    integer NOT NULL CHECK (accounts_retained >= 0),
    accounts_paying      integer NOT NULL CHECK (accounts_paying >= 0),
    starting_mrr         numeric(14,2) NOT NULL CHECK (starting_mrr >= 0),
    mrr                  numeric(14,2) NOT NULL CHECK (mrr >= 0),
    retained_mrr_gross   numeric(14,2) NOT NULL CHECK (retained_mrr_gross >= 0),
    logo_retention       numeric(9,6),
    gross_mrr_retention  numeric(12,6),
    net_mrr_retention    numeric(12,6),
    PRIMARY KEY (cohort_kind, cohort_month, months_since),
    CHECK (month_start = (cohort_month + months_since * interval '1 month')::date),
    CHECK (accounts_retained <= accounts_start),
    CHECK (retained_mrr_gross <= mrr AND retained_mrr_gross <= starting_mrr)
);
CREATE INDEX fct_cohort_retention_date_idx ON elt_mart.fct_cohort_retention (date_key);
COMMENT ON TABLE elt_mart.fct_cohort_retention IS
'Cohort retention: one row per cohort (users who signed up in a month, or who first paid in a month) and month since, from the cohort''s month through the current month. Paying and MRR are measured like fct_mrr_monthly: on the last day of the month (the simulated today in the current month).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.cohort_kind IS 'signup (users by the month of their signup) or first_paid (users by the first month in which they paid on the measurement day, as fct_mrr_monthly''s movement new).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.cohort_month IS 'First day of the cohort''s month.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.months_since IS 'Months since the cohort month: 0 for the cohort month itself.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.month_start IS 'First day of the month the row measures (cohort month plus months_since).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.cohort_date_key IS 'First day of the cohort month (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.date_key IS 'Measurement day: the last day of the month, or the simulated today in the current month (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.accounts_start IS 'Users in the cohort.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.accounts_retained IS 'Users of the cohort retained in the month: for first_paid cohorts, those paying on the measurement day; for signup cohorts, those with usage in the month up to the measurement day (active users).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.accounts_paying IS 'Users of the cohort paying (MRR above 0) on the measurement day; equals accounts_retained for first_paid cohorts.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.starting_mrr IS 'MRR of the cohort''s users on the measurement day of the cohort month, in USD (for signup cohorts mostly 0: paid plans start with a trial).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.mrr IS 'MRR of the cohort''s users on the measurement day, in USD: retained MRR with expansion (net).';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.retained_mrr_gross IS 'Retained MRR without expansion (gross), in USD: the sum over the cohort''s users of the lesser of their MRR and their starting MRR.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.logo_retention IS 'accounts_retained / accounts_start (a fraction); empty for an empty cohort.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.gross_mrr_retention IS 'retained_mrr_gross / starting_mrr (a fraction); empty when starting MRR is 0.';
COMMENT ON COLUMN elt_mart.fct_cohort_retention.net_mrr_retention IS 'mrr / starting_mrr (a fraction, above 1 when expansion outweighs churn); empty when starting MRR is 0.';

CREATE TABLE elt_mart.fct_saas_metrics_monthly (
    month_start                 date    PRIMARY KEY,
    date_key                    integer NOT NULL REFERENCES elt_mart.dim_date,
    mrr                         numeric(14,2) NOT NULL CHECK (mrr >= 0),
    arr                         numeric(15,2) NOT NULL CHECK (arr >= 0),
    starting_mrr                numeric(14,2) NOT NULL CHECK (starting_mrr >= 0),
    new_mrr                     numeric(14,2) NOT NULL CHECK (new_mrr >= 0),
    expansion_mrr               numeric(14,2) NOT NULL CHECK (expansion_mrr >= 0),
    contraction_mrr             numeric(14,2) NOT NULL CHECK (contraction_mrr <= 0),
    churned_mrr                 numeric(14,2) NOT NULL CHECK (churned_mrr <= 0),
    churned_voluntary_mrr       numeric(14,2) NOT NULL CHECK (churned_voluntary_mrr <= 0),
    churned_involuntary_mrr     numeric(14,2) NOT NULL CHECK (churned_involuntary_mrr <= 0),
    reactivation_mrr            numeric(14,2) NOT NULL CHECK (reactivation_mrr >= 0),
    net_new_mrr                 numeric(14,2) NOT NULL,
    customers_start             integer NOT NULL CHECK (customers_start >= 0),
    customers_end               integer NOT NULL CHECK (customers_end >= 0),
    new_customers               integer NOT NULL CHECK (new_customers >= 0),
    reactivated_customers       integer NOT NULL CHECK (reactivated_customers >= 0),
    churned_customers           integer NOT NULL CHECK (churned_customers >= 0),
    churned_involuntary_customers integer NOT NULL CHECK (churned_involuntary_customers >= 0),
    customer_churn_rate         numeric(12,6),
    gross_mrr_churn_rate        numeric(12,6),
    net_mrr_churn_rate          numeric(12,6),
    nrr                         numeric(12,6),
    grr                         numeric(12,6),
    arpa                        numeric(14,2),
    ltv                         numeric(16,2),
    quick_ratio                 numeric(12,4),
    trials_started              integer NOT NULL CHECK (trials_started >= 0),
    trials_ended                integer NOT NULL CHECK (trials_ended >= 0),
    trials_converted            integer NOT NULL CHECK (trials_converted >= 0),
    trial_to_paid_rate          numeric(9,6),
    free_users_start            integer NOT NULL CHECK (free_users_start >= 0),
    free_to_paid                integer NOT NULL CHECK (free_to_paid >= 0),
    free_to_paid_rate           numeric(9,6),
    CHECK (arr = 12 * mrr),
    CHECK (churned_mrr = churned_voluntary_mrr + churned_involuntary_mrr),
    CHECK (net_new_mrr = new_mrr + expansion_mrr + contraction_mrr + churned_mrr + reactivation_mrr),
    CHECK (mrr = starting_mrr + net_new_mrr),
    CHECK (customers_end = customers_start + new_customers + reactivated_customers - churned_customers),
    CHECK (trials_converted <= trials_ended)
);
CREATE INDEX fct_saas_metrics_monthly_date_idx ON elt_mart.fct_saas_metrics_monthly (date_key);
COMMENT ON TABLE elt_mart.fct_saas_metrics_monthly IS
'Headline SaaS metrics: one row per month of the window (ChartMogul and Baremetrics definitions). MRR and customers are measured on the last day of the month (the simulated today in the current month) like fct_mrr_monthly; amounts in USD, lost MRR negative; rates and ratios are fractions, empty when their denominator is 0.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.month_start IS 'First day of the month.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.date_key IS 'Measurement day: the last day of the month, or the simulated today in the current month (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.mrr IS 'MRR on the measurement day: the sum of the mrr of all subscription versions valid and paid for that day.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.arr IS 'Annual recurring revenue: 12 times MRR.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.starting_mrr IS 'MRR at the start of the month: the MRR of the month before (0 in the first month of the window).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.new_mrr IS 'MRR of customers paying for the first time.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.expansion_mrr IS 'MRR gained from customers paying more than the month before.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.contraction_mrr IS 'MRR lost from customers paying less than the month before (zero or negative).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.churned_mrr IS 'MRR lost from customers who stopped paying (zero or negative): voluntary plus involuntary.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.churned_voluntary_mrr IS 'Churned MRR of customers who cancelled (or ended a subscription otherwise) (zero or negative).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.churned_involuntary_mrr IS 'Churned MRR of customers whose last paid subscription ended with a failed payment: a cancelled version whose end date is the day it starts (zero or negative).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.reactivation_mrr IS 'MRR of former customers paying again.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.net_new_mrr IS 'new + expansion + contraction + churned + reactivation MRR: MRR minus starting MRR.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.customers_start IS 'Paying customers (MRR above 0) at the start of the month: on the measurement day of the month before.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.customers_end IS 'Paying customers on the measurement day.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.new_customers IS 'Customers paying for the first time.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.reactivated_customers IS 'Former customers paying again.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.churned_customers IS 'Customers at the start of the month who no longer pay on the measurement day (those who joined or reactivated in the month and left again are not customers at either end, and so are not counted).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.churned_involuntary_customers IS 'Churned customers whose churn was involuntary (see churned_involuntary_mrr).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.customer_churn_rate IS 'churned_customers / customers_start (ChartMogul''s customer churn rate).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.gross_mrr_churn_rate IS '-(churned + contraction MRR) / starting MRR.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.net_mrr_churn_rate IS '-(churned + contraction MRR + expansion + reactivation MRR) / starting MRR; negative when expansion outweighs the losses.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.nrr IS 'Net revenue retention of the month: 1 - net_mrr_churn_rate.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.grr IS 'Gross revenue retention of the month: 1 - gross_mrr_churn_rate.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.arpa IS 'Average revenue per account: MRR / customers_end, in USD.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.ltv IS 'Customer lifetime value: ARPA / customer_churn_rate, in USD; empty when the churn rate is 0 or unknown.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.quick_ratio IS 'SaaS quick ratio (Baremetrics): (new + expansion + reactivation MRR) / -(churned + contraction MRR).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.trials_started IS 'Subscriptions starting with a free trial in the month (up to the measurement day).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.trials_ended IS 'Trials whose trial end falls in the month, up to the measurement day.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.trials_converted IS 'Of trials_ended, those that converted: the version starting on the trial end pays (mrr above 0).';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.trial_to_paid_rate IS 'trials_converted / trials_ended.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.free_users_start IS 'Users on the Free plan at the start of the month: holding an active free-plan subscription version valid on the measurement day of the month before.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.free_to_paid IS 'Of free_users_start, those paying on the measurement day.';
COMMENT ON COLUMN elt_mart.fct_saas_metrics_monthly.free_to_paid_rate IS 'free_to_paid / free_users_start.';

SELECT pg_catalog.pg_extension_config_dump('elt_mart.fct_cohort_retention', '');
SELECT pg_catalog.pg_extension_config_dump('elt_mart.fct_saas_metrics_monthly', '');

-- Internal state of the KPI builder (not part of the star schema): each
-- user's last day with usage, through a day (the row of user_id -1 holds
-- that day).  A day's weekly and monthly active users are those whose last
-- active day before the new days is within the week or month, plus those
-- active in the new days: an update reads the new days' usage only, not
-- the month of usage before them (which, with usage_date BRIN-indexed but
-- generated user by user, was a read of all of elt_raw.usage).  The
-- builder uses it only when it is in step (through the day before the
-- first day it writes) and rebuilds it otherwise.
CREATE TABLE elt.mart_last_active (
    user_id     bigint NOT NULL PRIMARY KEY,
    last_active date   NOT NULL,
    prev_active date
);
COMMENT ON TABLE elt.mart_last_active IS
'Internal: each user''s last day with usage (elt_raw.usage) up to a day, which the row of user_id -1 holds; maintained by elt_build_fct_kpi_daily so that an update need not read the month of usage before the new days.';
COMMENT ON COLUMN elt.mart_last_active.prev_active IS 'The user''s last active day before the update that last moved last_active (NULL: none, or not kept); in the row of user_id -1, the day that update started from (NULL after a rebuild). Lets the cohort builder count the users first active in the month in the new days.';
SELECT pg_catalog.pg_extension_config_dump('elt.mart_last_active', '');

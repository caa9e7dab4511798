-- elt_mart tables added in 0.2.0 (issue 15): subscription events, usage
-- quota periods, the churn type of fct_mrr_monthly.  The upgrade from
-- 0.1.0 runs this file too (NEW_SCHEMA in the Makefile).  Their builders are in
-- 37_mart_events.sql.

CREATE TABLE elt_mart.fct_subscription_events (
    event_date       date    NOT NULL,
    subscription_id  bigint  NOT NULL,
    event_type       text    NOT NULL CHECK (event_type IN
                         ('trial_started', 'trial_converted', 'trial_expired', 'new', 'renewal', 'upgrade',
                          'downgrade', 'seat_change', 'payment_failed', 'payment_recovered',
                          'cancellation_requested', 'churn_voluntary', 'churn_involuntary', 'reactivation')),
    date_key         integer NOT NULL REFERENCES elt_mart.dim_date,
    user_id          bigint  NOT NULL,
    user_key         bigint  NOT NULL REFERENCES elt_mart.dim_user,
    subscription_key bigint  NOT NULL REFERENCES elt_mart.dim_subscription,
    from_plan_key    integer REFERENCES elt_mart.dim_plan,
    to_plan_key      integer REFERENCES elt_mart.dim_plan,
    mrr_before       numeric(12,2) NOT NULL CHECK (mrr_before >= 0),
    mrr_after        numeric(12,2) NOT NULL CHECK (mrr_after >= 0),
    mrr_change       numeric(12,2) NOT NULL,
    PRIMARY KEY (subscription_id, event_date, event_type),
    CHECK (mrr_change = mrr_after - mrr_before)
);
CREATE INDEX fct_subscription_events_date_idx ON elt_mart.fct_subscription_events (date_key);
CREATE INDEX fct_subscription_events_user_idx ON elt_mart.fct_subscription_events (user_id);
COMMENT ON TABLE elt_mart.fct_subscription_events IS
'Subscription lifecycle events (lead -> trial -> customer -> churn): one row per event of a subscription, derived from the versions of elt_raw.subscriptions, with the versions of the user and subscription valid that day, the plan before and after and the MRR change. The MRR changes of a user''s events add up to the change of the user''s MRR (every version change carries it on one event; the others of that day carry 0).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.event_date IS 'Day of the event.';
COMMENT ON COLUMN elt_mart.fct_subscription_events.subscription_id IS 'Id of the subscription the event belongs to.';
COMMENT ON COLUMN elt_mart.fct_subscription_events.event_type IS
'trial_started (first version trialing), trial_converted (trialing -> paying version), trial_expired (trialing -> expired: the user goes on the Free plan), new (first paying version of the user''s first paid subscription), reactivation (first paying version of a later paid subscription not replacing one the same day: the user had churned), upgrade / downgrade (first paying version of a subscription starting the day the previous paid one expired, on a dearer / cheaper plan; downgrade also for a Free subscription replacing a paid one), renewal (an active version for a later billing period after an active one), seat_change (seats differ from the previous paying version), payment_failed (past_due version), payment_recovered (active after past_due), cancellation_requested (cancelled version whose end date is after its first day: a voluntary cancellation), churn_voluntary (the end date of such a version, once reached: end date <= the simulated today), churn_involuntary (cancelled version whose end date is its first day: the payment retries gave up).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.date_key IS 'Day of the event (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.user_id IS 'Id of the user holding the subscription.';
COMMENT ON COLUMN elt_mart.fct_subscription_events.user_key IS 'Version of the user valid on the event day (links to dim_user).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.subscription_key IS 'Version of the subscription valid on the event day (links to dim_subscription).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.from_plan_key IS 'Plan before the event (links to dim_plan): the replaced subscription''s plan for upgrade and downgrade; empty for new and reactivation (no plan before).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.to_plan_key IS 'Plan after the event (links to dim_plan); empty for churn_voluntary and churn_involuntary (no plan after).';
COMMENT ON COLUMN elt_mart.fct_subscription_events.mrr_before IS 'MRR of the subscription (for upgrade and downgrade: of the replaced one) just before the event, in USD.';
COMMENT ON COLUMN elt_mart.fct_subscription_events.mrr_after IS 'MRR of the subscription just after the event, in USD.';
COMMENT ON COLUMN elt_mart.fct_subscription_events.mrr_change IS 'MRR after minus MRR before, in USD. When a version change gives several events (a renewal with a seat change, a trial conversion that is also a new customer), one carries the change (seat_change, new / reactivation / upgrade / downgrade) and the others 0.';

CREATE TABLE elt_mart.fct_usage_period (
    subscription_id   bigint  NOT NULL,
    period_start      date    NOT NULL,
    period_end        date    NOT NULL,
    date_key          integer NOT NULL REFERENCES elt_mart.dim_date,
    user_id           bigint  NOT NULL,
    user_key          bigint  NOT NULL REFERENCES elt_mart.dim_user,
    subscription_key  bigint  NOT NULL REFERENCES elt_mart.dim_subscription,
    plan_key          integer NOT NULL REFERENCES elt_mart.dim_plan,
    active_days       integer NOT NULL CHECK (active_days > 0),
    last_usage_date   date    NOT NULL,
    api_calls         bigint  NOT NULL CHECK (api_calls >= 0),
    api_limit         integer,
    api_used_pct      numeric(9,2) CHECK (api_used_pct >= 0),
    storage_used_mb   bigint  NOT NULL CHECK (storage_used_mb >= 0),
    storage_limit_mb  integer,
    storage_used_pct  numeric(9,2) CHECK (storage_used_pct >= 0),
    api_exhausted_on     date,
    storage_exhausted_on date,
    is_complete       boolean NOT NULL,
    PRIMARY KEY (subscription_id, period_start),
    CHECK (period_end > period_start)
);
CREATE INDEX fct_usage_period_date_idx ON elt_mart.fct_usage_period (date_key);
CREATE INDEX fct_usage_period_last_idx ON elt_mart.fct_usage_period (last_usage_date);
COMMENT ON TABLE elt_mart.fct_usage_period IS
'Quota periods: one row per subscription and monthly quota period (start date plus whole months, as the quotas reset) with usage, aggregated from elt_mart.fct_usage_daily: API calls and storage against the plan limits, and the day each quota was exhausted.';
COMMENT ON COLUMN elt_mart.fct_usage_period.subscription_id IS 'Id of the subscription.';
COMMENT ON COLUMN elt_mart.fct_usage_period.period_start IS 'First day of the quota period (the subscription''s start date plus whole months).';
COMMENT ON COLUMN elt_mart.fct_usage_period.period_end IS 'First day after the period (period_start plus one month), excluded.';
COMMENT ON COLUMN elt_mart.fct_usage_period.date_key IS 'First day of the period (links to dim_date).';
COMMENT ON COLUMN elt_mart.fct_usage_period.user_id IS 'Id of the user.';
COMMENT ON COLUMN elt_mart.fct_usage_period.user_key IS 'Version of the user valid on the period''s first day with usage (links to dim_user).';
COMMENT ON COLUMN elt_mart.fct_usage_period.subscription_key IS 'Version of the subscription valid on the period''s first day with usage (links to dim_subscription).';
COMMENT ON COLUMN elt_mart.fct_usage_period.plan_key IS 'Plan the usage counts against (links to dim_plan).';
COMMENT ON COLUMN elt_mart.fct_usage_period.active_days IS 'Days of the period with usage.';
COMMENT ON COLUMN elt_mart.fct_usage_period.last_usage_date IS 'Last day of the period with usage.';
COMMENT ON COLUMN elt_mart.fct_usage_period.api_calls IS 'API calls in the period.';
COMMENT ON COLUMN elt_mart.fct_usage_period.api_limit IS 'API calls the plan allows per period; empty when unlimited.';
COMMENT ON COLUMN elt_mart.fct_usage_period.api_used_pct IS 'API calls as a percentage of the limit; empty when unlimited.';
COMMENT ON COLUMN elt_mart.fct_usage_period.storage_used_mb IS 'Peak storage held in the period, in MB.';
COMMENT ON COLUMN elt_mart.fct_usage_period.storage_limit_mb IS 'Storage the plan allows an account to hold, in MB; empty when unlimited.';
COMMENT ON COLUMN elt_mart.fct_usage_period.storage_used_pct IS 'Peak storage held as a percentage of the limit; empty when unlimited.';
COMMENT ON COLUMN elt_mart.fct_usage_period.api_exhausted_on IS 'First day on which the period''s API calls reached the limit; empty when not exhausted (or unlimited).';
COMMENT ON COLUMN elt_mart.fct_usage_period.storage_exhausted_on IS 'First day in the period on which the storage held reached the limit; empty when not reached (or unlimited).';
COMMENT ON COLUMN elt_mart.fct_usage_period.is_complete IS 'True when the period ended on or before the simulated today (its totals are final).';

-- fct_mrr_monthly: what kind of churn a churn row is.
ALTER TABLE elt_mart.fct_mrr_monthly
    ADD COLUMN churn_type text CONSTRAINT fct_mrr_monthly_churn_type_check
        CHECK (churn_type IS NULL OR (churn_type IN ('voluntary', 'involuntary', 'downgrade_to_free') AND movement = 'churn'));
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.churn_type IS
'For a churn row: involuntary (the user''s paid subscription was cancelled by failed payments in the month: a cancelled version ending the day it starts), downgrade_to_free (the user holds a Free subscription on the measurement day), voluntary (otherwise: a cancellation reached its end date); empty for other movements.';

-- Dimensions: calendar, lifecycle and subscription details, Unknown flags.
ALTER TABLE elt_mart.dim_date
    ADD COLUMN week_start date,
    ADD COLUMN is_holiday boolean,
    ADD COLUMN is_unknown boolean NOT NULL DEFAULT false;
ALTER TABLE elt_mart.dim_plan
    ADD COLUMN is_unknown boolean NOT NULL DEFAULT false;
ALTER TABLE elt_mart.dim_user
    ADD COLUMN cohort_month date,
    ADD COLUMN signup_date_key integer,
    ADD COLUMN acquisition_channel text,
    ADD COLUMN first_paid_date date,
    ADD COLUMN lifecycle_status text CONSTRAINT dim_user_lifecycle_status_check
        CHECK (lifecycle_status IN ('free', 'trialing', 'paying', 'past_due', 'churned')),
    ADD COLUMN is_paying boolean,
    ADD COLUMN is_unknown boolean NOT NULL DEFAULT false;
ALTER TABLE elt_mart.dim_subscription
    ADD COLUMN billing_interval text,
    ADD COLUMN seats integer,
    ADD COLUMN discount_pct integer,
    ADD COLUMN trial_end date,
    ADD COLUMN mrr numeric(10,2),
    ADD COLUMN cancel_date date,
    ADD COLUMN previous_plan_id integer,
    ADD COLUMN previous_plan_name text,
    ADD COLUMN change_type text CONSTRAINT dim_subscription_change_type_check
        CHECK (change_type IN ('first', 'upgrade', 'downgrade', 'after_trial', 'return')),
    ADD COLUMN is_unknown boolean NOT NULL DEFAULT false;
UPDATE elt_mart.dim_date SET is_unknown = true WHERE date_key = -1;
UPDATE elt_mart.dim_plan SET is_unknown = true WHERE plan_key = -1;
UPDATE elt_mart.dim_user SET is_unknown = true, acquisition_channel = 'Unknown' WHERE user_key = -1;
UPDATE elt_mart.dim_subscription SET is_unknown = true WHERE subscription_key = -1;
COMMENT ON COLUMN elt_mart.dim_date.week_start IS 'Monday of the ISO week the day belongs to.';
COMMENT ON COLUMN elt_mart.dim_date.is_holiday IS 'True on the holidays of the simulated users (Dec 24, 25, 26, 31 and Jan 1): less usage.';
COMMENT ON COLUMN elt_mart.dim_date.is_unknown IS 'True only for the Unknown day (key -1): filter with NOT is_unknown.';
COMMENT ON COLUMN elt_mart.dim_plan.is_unknown IS 'True only for the Unknown plan (key -1): filter with NOT is_unknown.';
COMMENT ON COLUMN elt_mart.dim_user.cohort_month IS 'First day of the month of the signup: the signup cohort.';
COMMENT ON COLUMN elt_mart.dim_user.signup_date_key IS 'Signup day as a dim_date key (yyyymmdd).';
COMMENT ON COLUMN elt_mart.dim_user.acquisition_channel IS 'How the user was acquired: the referral source (Web Search, Paid Ads, Social Media or Friend).';
COMMENT ON COLUMN elt_mart.dim_user.first_paid_date IS 'First day the user paid (a subscription version with MRR above 0), as known on the simulated today (the same on every version); empty if never.';
COMMENT ON COLUMN elt_mart.dim_user.lifecycle_status IS 'The user''s state on the last day of this version (the simulated today for the current version): past_due (a renewal payment is being retried), paying (MRR above 0), trialing, churned (paid before, pays no more), free (never paid).';
COMMENT ON COLUMN elt_mart.dim_user.is_paying IS 'True when lifecycle_status is paying or past_due (MRR above 0).';
COMMENT ON COLUMN elt_mart.dim_user.is_unknown IS 'True only for the Unknown user (key -1): filter with NOT is_unknown, or use dim_user_current.';
COMMENT ON COLUMN elt_mart.dim_subscription.billing_interval IS 'month or year.';
COMMENT ON COLUMN elt_mart.dim_subscription.seats IS 'Seats in use in this version.';
COMMENT ON COLUMN elt_mart.dim_subscription.discount_pct IS 'Introductory discount in force in this version, percent (0: none).';
COMMENT ON COLUMN elt_mart.dim_subscription.trial_end IS 'End of the free trial the subscription began with; empty without one.';
COMMENT ON COLUMN elt_mart.dim_subscription.mrr IS 'MRR of this version in USD (after discount, a twelfth of a yearly price; 0 while trialing and once ended).';
COMMENT ON COLUMN elt_mart.dim_subscription.cancel_date IS 'Day the subscription was cancelled (voluntarily, or by failed payments) for a cancelled version; empty otherwise.';
COMMENT ON COLUMN elt_mart.dim_subscription.previous_plan_id IS 'Plan id of the user''s previous subscription; empty for the user''s first.';
COMMENT ON COLUMN elt_mart.dim_subscription.previous_plan_name IS 'Plan name of the user''s previous subscription; empty for the user''s first.';
COMMENT ON COLUMN elt_mart.dim_subscription.change_type IS 'How the subscription began: first (the user''s first), upgrade / downgrade (the previous one was replaced the day this one starts, by a dearer / cheaper plan), after_trial (the previous one was a trial that expired the day this one starts), return (after a gap: the previous one was cancelled).';
COMMENT ON COLUMN elt_mart.dim_subscription.is_unknown IS 'True only for the Unknown subscription (key -1): filter with NOT is_unknown, or use dim_subscription_current.';

-- The current versions of the SCD2 dimensions, without the Unknown members.
CREATE VIEW elt_mart.dim_user_current AS
    SELECT * FROM elt_mart.dim_user WHERE is_current AND NOT is_unknown;
CREATE VIEW elt_mart.dim_subscription_current AS
    SELECT * FROM elt_mart.dim_subscription WHERE is_current AND NOT is_unknown;
COMMENT ON VIEW elt_mart.dim_user_current IS 'The current version of every user (one row per user), without the Unknown member.';
COMMENT ON VIEW elt_mart.dim_subscription_current IS 'The current version of every subscription (one row per subscription), without the Unknown member.';

SELECT pg_catalog.pg_extension_config_dump('elt_mart.fct_subscription_events', '');
SELECT pg_catalog.pg_extension_config_dump('elt_mart.fct_usage_period', '');
COMMENT ON COLUMN elt_mart.fct_mrr_monthly.movement IS 'new (first paying month ever), expansion (pays more), contraction (pays less), churn (stopped paying: MRR 0; see churn_type), reactivation (pays again after having churned), retained (pays the same). MRR is summed per user (ChartMogul''s customer level): when one of several paying subscriptions ends while another still pays, the month is a contraction, not a churn.';

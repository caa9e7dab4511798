// The elt dashboard's pages: each takes window.ELT_DATA (the JSON its query
// in queries/<page>.sql returned) and draws ECharts charts.  Animations are
// off so that a screenshot shows the finished charts.  The test reads
// window.eltCharts (every chart drawn) and window.eltReady.
'use strict';

const PAGES = [
  ['overview', 'Overview', 'index.html'],
  ['mrr_movements', 'MRR movements'],
  ['arr_customers', 'ARR and customers'],
  ['cohort_retention', 'Cohort retention'],
  ['churn', 'Churn'],
  ['trial_funnel', 'Trial funnel'],
  ['quota_exhaustion', 'Quota exhaustion'],
  ['active_users', 'Active users'],
];
const COLORS = { new: '#2e7d32', expansion: '#66bb6a', reactivation: '#26a69a',
                 contraction: '#ffa726', churn: '#e53935', churn_voluntary: '#e53935',
                 churn_involuntary: '#8e24aa', mrr: '#1f2a44' };
const LABELS = { churn_voluntary: 'churn (voluntary)', churn_involuntary: 'churn (involuntary)' };
window.eltCharts = [];

const usd = v => '$' + Math.round(v).toLocaleString('en-US');
const num = v => Math.round(v).toLocaleString('en-US');
const pct = (v, digits) => v == null ? 'n/a' : (100 * v).toFixed(digits || 1) + '%';

// el creates an element with a class and text.
function el(tag, cls, text, parent) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  (parent || document.getElementById('main')).appendChild(e);
  return e;
}

// chart adds a titled section with one chart (because every chart goes
// through here, the test finds them all in window.eltCharts).
function chart(title, option, parent, height) {
  const s = el('section', null, undefined, parent);
  el('h2', null, title, s);
  const div = el('div', 'chart', undefined, s);
  if (height) div.style.height = height + 'px';
  const c = echarts.init(div);
  c.setOption(Object.assign({ animation: false, grid: { left: 70, right: 70, top: 40, bottom: 40 },
                              tooltip: { trigger: 'axis' } }, option));
  c.eltTitle = title;
  window.eltCharts.push(c);
  return c;
}

function header(title, note) {
  el('h1', null, title);
  if (note) el('p', 'note', note);
}

const RENDER = {
  overview(d) {
    header('elt demo: the SaaS on ' + d.today,
           'Headline numbers of the simulated today (elt_mart.fct_kpi_daily) and of the last complete month, ' +
           (d.month ? d.month.month : 'none yet') + ' (elt_mart.fct_saas_metrics_monthly). The pages above show the marts of elt_mart.');
    const tiles = (rows) => {
      const t = el('div', 'tiles');
      for (const [label, v] of rows) {
        const x = el('div', 'tile', undefined, t);
        el('div', 'v', v, x);
        el('div', 'l', label, x);
      }
    };
    tiles([['MRR', usd(d.tiles.mrr)], ['ARR', usd(d.tiles.arr)],
           ['Paying customers', num(d.tiles.paying_users)], ['Free users', num(d.tiles.free_users)],
           ['Active users today', num(d.tiles.active_users)],
           ['Signups, last 30 days', num(d.tiles.signups_30d)]]);
    const m = d.month || {};
    tiles([['NRR', pct(m.nrr)], ['GRR', pct(m.grr)], ['ARPA', m.arpa == null ? 'n/a' : usd(m.arpa)],
           ['LTV', m.ltv == null ? 'n/a' : usd(m.ltv)],
           ['Quick ratio', m.quick_ratio == null ? 'n/a' : Number(m.quick_ratio).toFixed(1)],
           ['Customer churn rate', pct(m.customer_churn_rate, 2)]]
          .map(([l, v]) => [l + (m.month ? ', ' + m.month : ''), v]));
    chart('MRR per day (USD)', {
      xAxis: { type: 'time' }, yAxis: { type: 'value' },
      series: [{ name: 'MRR', type: 'line', showSymbol: false, areaStyle: { opacity: 0.15 },
                 color: COLORS.mrr, data: d.daily }],
    });
  },

  mrr_movements(d) {
    header('MRR movements',
           'MRR gained and lost per month by movement (ChartMogul: new, expansion, reactivation, contraction, churn; churn split into voluntary and involuntary = failed payments) and the MRR on the month\'s measurement day (last day, or today). Source: elt_mart.fct_saas_metrics_monthly.');
    const months = d.map(r => r.month);
    const kinds = ['new', 'expansion', 'reactivation', 'contraction', 'churn_voluntary', 'churn_involuntary'];
    chart('MRR movements per month (USD)', {
      legend: { top: 0 },
      xAxis: { type: 'category', data: months },
      yAxis: [{ type: 'value', name: 'movement' }, { type: 'value', name: 'MRR' }],
      series: kinds.map(k => ({ name: LABELS[k] || k, type: 'bar', stack: /contraction|churn/.test(k) ? 'lost' : 'gained',
                                 color: COLORS[k], data: d.map(r => r[k]) }))
        .concat([{ name: 'MRR', type: 'line', yAxisIndex: 1, color: COLORS.mrr, data: d.map(r => r.mrr) }]),
    }, undefined, 420);
    // The bridge of the last complete month.
    const done = d.filter(r => r.complete), r = done.length ? done[done.length - 1] : d[d.length - 1];
    const steps = [['start MRR', r.starting_mrr, 'total']].concat(kinds.map(k => [LABELS[k] || k, r[k], k]))
      .concat([['end MRR', r.mrr, 'total']]);
    let level = 0;
    const base = [], bar = [], levels = [];
    for (const [, v, k] of steps) {
      if (k === 'total') { base.push(0); bar.push({ value: v, itemStyle: { color: COLORS.mrr } }); level = v; continue; }
      const from = level, to = level + Number(v);
      base.push(Math.min(from, to));
      bar.push({ value: Math.abs(v), sign: v < 0 ? '-' : '+', itemStyle: { color: COLORS[k] } });
      level = to;
      levels.push(from, to);
    }
    // The axis starts below the lowest level (not at 0), so that the movements are visible.
    levels.push(Number(r.starting_mrr), Number(r.mrr));
    const lo = Math.min(...levels), hi = Math.max(...levels);
    const step = Math.pow(10, Math.floor(Math.log10(Math.max(hi - lo, 1))));
    const ymin = Math.max(0, Math.floor((lo - (hi - lo) * 0.6) / step) * step);
    chart('MRR waterfall of ' + r.month + ' (USD)', {
      xAxis: { type: 'category', data: steps.map(s => s[0]) },
      yAxis: { type: 'value', min: ymin, scale: true },
      tooltip: { trigger: 'axis', formatter: p => p.filter(x => x.seriesName === 'amount').map(x => x.name + ': ' + (x.data.sign || '') + usd(x.value)).join('') },
      series: [
        { name: 'base', type: 'bar', stack: 'w', itemStyle: { color: 'transparent' }, data: base },
        { name: 'amount', type: 'bar', stack: 'w', label: { show: true, position: 'top', formatter: p => (p.data.sign || '') + usd(p.value) }, data: bar },
      ],
    });
  },

  arr_customers(d) {
    header('ARR and customers',
           'ARR (12 x MRR) and paying customers on each month\'s measurement day (last day, or today); customers gained (new, reactivated) and lost (churned, of which involuntary: failed payments) per month; ARPA (MRR per paying customer). Source: elt_mart.fct_saas_metrics_monthly.');
    const months = d.map(r => r.month);
    chart('ARR (USD) and paying customers per month', {
      legend: { top: 0 },
      xAxis: { type: 'category', data: months },
      yAxis: [{ type: 'value', name: 'ARR' }, { type: 'value', name: 'customers' }],
      series: [
        { name: 'ARR', type: 'bar', color: COLORS.mrr, data: d.map(r => r.arr) },
        { name: 'paying customers', type: 'line', yAxisIndex: 1, color: COLORS.new, data: d.map(r => r.customers_end) },
      ],
    });
    chart('Customers gained and lost per month', {
      legend: { top: 0 },
      xAxis: { type: 'category', data: months }, yAxis: { type: 'value' },
      series: [
        { name: 'new', type: 'bar', stack: 'c', color: COLORS.new, data: d.map(r => r.new) },
        { name: 'reactivated', type: 'bar', stack: 'c', color: COLORS.reactivation, data: d.map(r => r.reactivated) },
        { name: 'churned voluntarily', type: 'bar', stack: 'c', color: COLORS.churn_voluntary, data: d.map(r => -(r.churned - r.churned_involuntary)) },
        { name: 'churned involuntarily', type: 'bar', stack: 'c', color: COLORS.churn_involuntary, data: d.map(r => -r.churned_involuntary) },
      ],
    });
    chart('ARPA per month (USD)', {
      xAxis: { type: 'category', data: months }, yAxis: { type: 'value', min: 'dataMin' },
      series: [{ name: 'ARPA', type: 'line', color: '#5c6bc0', data: d.map(r => r.arpa) }],
    });
  },

  cohort_retention(d) {
    header('Cohort retention',
           'Cohorts by the month of their first payment (customers in brackets). Logo retention: share of the cohort\'s customers paying n months later. Net revenue retention: the cohort\'s MRR n months later as a share of its first month\'s MRR (expansion included). Source: elt_mart.fct_cohort_retention (first_paid cohorts).');
    const cohorts = [...new Set(d.map(r => r.cohort))];
    const ks = [...new Set(d.map(r => r.months_since))].sort((a, b) => a - b);
    const size = Object.fromEntries(d.filter(r => r.months_since === 0).map(r => [r.cohort, r.cohort_accounts]));
    const heat = (title, field, min, max) => chart(title, {
      tooltip: { position: 'top', formatter: p => 'cohort ' + cohorts[p.value[1]] + ' (' + size[cohorts[p.value[1]]] + ' customers), month ' + ks[p.value[0]] + ': ' + p.value[2] + '%' },
      grid: { left: 100, right: 30, top: 20, bottom: 90 },
      xAxis: { type: 'category', name: 'months since first payment', nameLocation: 'middle', nameGap: 28, data: ks.map(String) },
      yAxis: { type: 'category', data: cohorts, inverse: true, axisLabel: { formatter: c => c + ' (' + size[c] + ')' } },
      visualMap: { min: min, max: max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0,
                   inRange: { color: ['#e53935', '#fff59d', '#2e7d32'] } },
      series: [{ name: title, type: 'heatmap', label: { show: true, fontSize: 10 },
                 data: d.filter(r => r[field] !== null).map(r => [ks.indexOf(r.months_since), cohorts.indexOf(r.cohort), r[field]]) }],
    }, undefined, 460);
    const lo = f => Math.min(100, Math.floor(Math.min(...d.filter(r => r[f] !== null).map(r => r[f])) / 5) * 5);
    heat('Logo retention (% of the cohort\'s customers still paying)', 'logo_pct', lo('logo_pct'), 100);
    heat('Net revenue retention (% of the cohort\'s first-month MRR)', 'nrr_pct', lo('nrr_pct'),
         Math.max(105, ...d.filter(r => r.nrr_pct !== null).map(r => r.nrr_pct)));
  },

  churn(d) {
    header('Churn',
           'Monthly customer churn rate: customers who stopped paying in a month / customers paying at its start, over all months, split into voluntary (cancelled), involuntary (payments failed) and downgrades to Free. Engagement: days active in the month before. Sources: elt_mart.fct_mrr_monthly (churn_type), dim_user (acquisition_channel), fct_usage_daily.');
    const row = el('div', 'row');
    const types = [['voluntary', 'churn_voluntary'], ['involuntary', 'churn_involuntary'], ['downgrade_to_free', 'contraction']];
    const bars = (title, rows, key) => chart(title, {
      legend: { top: 0 },
      grid: { left: 60, right: 20, top: 50, bottom: 40 },
      xAxis: { type: 'category', data: rows.map(r => r[key]) }, yAxis: { type: 'value', name: '% per month' },
      tooltip: { trigger: 'axis', formatter: p => { const r = rows[p[0].dataIndex];
        return p[0].name + ': ' + r.churn_pct + '% (' + r.churned + ' of ' + num(r.customer_months) + ' customer-months)<br>' +
               p.map(x => x.seriesName + ': ' + x.value + '%').join('<br>'); } },
      series: types.filter(([t]) => t !== 'downgrade_to_free' || rows.some(r => r.downgrade_to_free > 0))
        .map(([t, c], i, all) => ({ name: t.replace(/_/g, ' '), type: 'bar', stack: 'churn', color: COLORS[c],
          label: i === all.length - 1 ? { show: true, position: 'top', formatter: p => rows[p.dataIndex].churn_pct + '%' } : undefined,
          data: rows.map(r => r[t + '_pct']) })),
    }, row);
    bars('Churn rate by acquisition channel', d.by_channel, 'channel');
    bars('Churn rate by engagement (days active in the month before)', d.by_engagement, 'engagement');
    const months = [...new Set(d.by_month.map(r => r[0]))];
    const channels = [...new Set(d.by_month.map(r => r[1]))];
    chart('Churn rate per month by channel (%)', {
      legend: { top: 0 }, xAxis: { type: 'category', data: months }, yAxis: { type: 'value' },
      series: channels.map(c => ({ name: c, type: 'line',
        data: months.map(m => { const x = d.by_month.find(r => r[0] === m && r[1] === c); return x ? x[2] : null; }) })),
    });
  },

  trial_funnel(d) {
    header('Trial funnel',
           'Users who signed up, started a trial, converted it to a paid plan, and of those are paying today; trial conversion (converted / ended trials) by acquisition channel and by the month the trial ended. Sources: elt_mart.fct_subscription_events (trial_started, trial_converted, trial_expired), dim_user_current (acquisition_channel, is_paying).');
    chart('Signup to paying customer (users)', {
      tooltip: { trigger: 'item', formatter: p => p.name + ': ' + num(p.value) },
      series: [{ name: 'funnel', type: 'funnel', left: '10%', width: '80%', sort: 'none', minSize: '20%',
                 label: { show: true, position: 'inside', formatter: p => p.name + ': ' + num(p.value) + ' (' + Math.round(100 * p.value / d.steps[0][1]) + '%)' },
                 data: d.steps.map(s => ({ name: s[0], value: s[1] })) }],
    });
    const row = el('div', 'row');
    chart('Trial conversion by acquisition channel (% of ended trials)', {
      xAxis: { type: 'category', data: d.by_channel.map(r => r.channel) }, yAxis: { type: 'value' },
      tooltip: { trigger: 'axis', formatter: p => { const r = d.by_channel[p[0].dataIndex];
        return p[0].name + ': ' + r.conversion_pct + '% (' + num(r.converted) + ' of ' + num(r.trials_ended) + ')'; } },
      series: [{ name: 'converted', type: 'bar', color: COLORS.new, label: { show: true, position: 'top', formatter: '{c}%' },
                 data: d.by_channel.map(r => r.conversion_pct) }],
    }, row);
    chart('Trials ended per month', {
      legend: { top: 0 },
      grid: { left: 60, right: 60, top: 50, bottom: 40 },
      xAxis: { type: 'category', data: d.by_month.map(r => r[0]) },
      yAxis: [{ type: 'value', name: 'trials' }, { type: 'value', name: '% converted' }],
      series: [
        { name: 'expired', type: 'bar', stack: 't', color: '#b0bec5', data: d.by_month.map(r => r[1]) },
        { name: 'converted', type: 'bar', stack: 't', color: COLORS.new, data: d.by_month.map(r => r[2]) },
        { name: '% converted', type: 'line', yAxisIndex: 1, color: COLORS.mrr, data: d.by_month.map(r => r[3]) },
      ],
    }, row);
  },

  quota_exhaustion(d) {
    header('Quota exhaustion',
           'Share of complete monthly quota periods in which a subscription used up its plan\'s API calls or reached its storage limit (storage is what the account holds), by plan (plans with limits), and the median share of the API quota used and of the storage limit held. Source: elt_mart.fct_usage_period (api_exhausted_on, storage_exhausted_on), dim_plan.');
    chart('Quota periods exhausted, by plan (%)', {
      legend: { top: 0 },
      xAxis: { type: 'category', data: d.map(r => r.plan) }, yAxis: { type: 'value' },
      tooltip: { trigger: 'axis', formatter: p => p[0].name + ' (' + num(d[p[0].dataIndex].periods) + ' periods)<br>' + p.map(x => x.seriesName + ': ' + x.value + '%').join('<br>') },
      series: [
        { name: 'API calls exhausted', type: 'bar', color: '#5c6bc0', label: { show: true, position: 'top', formatter: '{c}%' }, data: d.map(r => r.api_exhausted_pct) },
        { name: 'storage limit reached', type: 'bar', color: '#ffa726', label: { show: true, position: 'top', formatter: '{c}%' }, data: d.map(r => r.storage_exhausted_pct) },
      ],
    });
    const row = el('div', 'row');
    chart('Median share of the API quota used and of the storage limit held in a period, by plan (%)', {
      legend: { top: 0 },
      xAxis: { type: 'category', data: d.map(r => r.plan) }, yAxis: { type: 'value' },
      series: [{ name: 'API quota used', type: 'bar', color: '#26a69a', label: { show: true, position: 'top', formatter: '{c}%' },
                 data: d.map(r => r.api_median_pct) },
               { name: 'storage limit held (peak)', type: 'bar', color: '#ffa726', label: { show: true, position: 'top', formatter: '{c}%' },
                 data: d.map(r => r.storage_median_pct) }],
    }, row);
    chart('Days from period start to API quota exhausted (mean), by plan', {
      xAxis: { type: 'category', data: d.map(r => r.plan) }, yAxis: { type: 'value' },
      series: [{ name: 'days to exhaustion', type: 'bar', color: '#8d6e63', label: { show: true, position: 'top' },
                 data: d.map(r => r.days_to_api_exhaustion) }],
    }, row);
  },

  active_users(d) {
    header('Active users',
           'DAU: users active that day; WAU and MAU: distinct users active in the 7 and 30 days up to that day. Stickiness: DAU / MAU, from the window\'s 30th day. Source: elt_mart.fct_kpi_daily (active_users, weekly_active_users, monthly_active_users).');
    chart('DAU, WAU and MAU', {
      legend: { top: 0 }, xAxis: { type: 'time' }, yAxis: { type: 'value' },
      series: [['DAU', 1, '#5c6bc0'], ['WAU', 2, '#26a69a'], ['MAU', 3, COLORS.mrr]].map(([n, i, c]) => (
        { name: n, type: 'line', showSymbol: false, color: c, data: d.map(r => [r[0], r[i]]) })),
    });
    chart('Stickiness: DAU / MAU (%)', {
      xAxis: { type: 'time' }, yAxis: { type: 'value' },
      series: [{ name: 'DAU/MAU', type: 'line', showSymbol: false, color: COLORS.expansion,
                 // from the 30th day on: before it, MAU covers less than 30 days and the ratio is too high
                 data: d.filter((r, i) => i >= 29 && r[3] > 0).map(r => [r[0], Math.round(1000 * r[1] / r[3]) / 10]) }],
    });
  },
};

document.addEventListener('DOMContentLoaded', () => {
  const page = document.body.dataset.page;
  const nav = document.getElementById('nav');
  for (const [id, title, file] of PAGES) {
    const a = el('a', id === page ? 'current' : null, title, nav);
    a.href = file || id + '.html';
  }
  RENDER[page](window.ELT_DATA);
  window.addEventListener('resize', () => window.eltCharts.forEach(c => c.resize()));
  window.eltReady = true;
});

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
  ['trial_funnel', 'Funnel'],
  ['quota_exhaustion', 'Quota exhaustion'],
  ['active_users', 'Active users'],
];
const COLORS = { new: '#2e7d32', expansion: '#66bb6a', reactivation: '#26a69a',
                 contraction: '#ffa726', churn: '#e53935', mrr: '#1f2a44' };
window.eltCharts = [];

const usd = v => '$' + Math.round(v).toLocaleString('en-US');
const num = v => Math.round(v).toLocaleString('en-US');

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
           'Headline numbers of the simulated today from elt_mart.fct_kpi_daily. The pages above show the marts of elt_mart.');
    const t = el('div', 'tiles');
    for (const [label, v] of [['MRR', usd(d.tiles.mrr)], ['ARR', usd(d.tiles.arr)],
                              ['Paying customers', num(d.tiles.paying_users)],
                              ['Active users today', num(d.tiles.active_users)],
                              ['Signups, last 30 days', num(d.tiles.signups_30d)]]) {
      const x = el('div', 'tile', undefined, t);
      el('div', 'v', v, x);
      el('div', 'l', label, x);
    }
    chart('MRR per day (USD)', {
      xAxis: { type: 'time' }, yAxis: { type: 'value' },
      series: [{ name: 'MRR', type: 'line', showSymbol: false, areaStyle: { opacity: 0.15 },
                 color: COLORS.mrr, data: d.daily }],
    });
  },

  mrr_movements(d) {
    header('MRR movements',
           'MRR gained and lost per month by movement (ChartMogul: new, expansion, reactivation, contraction, churn) and the MRR on the month\'s measurement day (last day, or today). Source: elt_mart.fct_mrr_monthly.');
    const months = d.map(r => r.month);
    const kinds = ['new', 'expansion', 'reactivation', 'contraction', 'churn'];
    chart('MRR movements per month (USD)', {
      legend: { top: 0 },
      xAxis: { type: 'category', data: months },
      yAxis: [{ type: 'value', name: 'movement' }, { type: 'value', name: 'MRR' }],
      series: kinds.map(k => ({ name: k, type: 'bar', stack: k === 'contraction' || k === 'churn' ? 'lost' : 'gained',
                                 color: COLORS[k], data: d.map(r => r[k]) }))
        .concat([{ name: 'MRR', type: 'line', yAxisIndex: 1, color: COLORS.mrr, data: d.map(r => r.mrr) }]),
    }, undefined, 420);
    // The bridge of the last complete month (the last row is the current, partial month).
    const i = Math.max(d.length - 2, 0), r = d[i], start = i > 0 ? d[i - 1].mrr : 0;
    const steps = [['start MRR', start, 'total'], ['new', r.new], ['expansion', r.expansion],
                   ['reactivation', r.reactivation], ['contraction', r.contraction], ['churn', r.churn],
                   ['end MRR', r.mrr, 'total']];
    let level = 0;
    const base = [], bar = [];
    for (const [k, v, total] of steps) {
      if (total) { base.push(0); bar.push({ value: v, itemStyle: { color: COLORS.mrr } }); level = v; continue; }
      const from = level, to = level + Number(v);
      base.push(Math.min(from, to));
      bar.push({ value: Math.abs(v), sign: v < 0 ? '-' : '+', itemStyle: { color: COLORS[k] } });
      level = to;
    }
    chart('MRR waterfall of ' + r.month + ' (USD)', {
      xAxis: { type: 'category', data: steps.map(s => s[0]) },
      yAxis: { type: 'value', min: v => Math.floor(v.min * 0.9 / 1000) * 1000 },
      tooltip: { trigger: 'axis', formatter: p => p.filter(x => x.seriesName === 'amount').map(x => x.name + ': ' + usd(x.value)).join('') },
      series: [
        { name: 'base', type: 'bar', stack: 'w', itemStyle: { color: 'transparent' }, data: base },
        { name: 'amount', type: 'bar', stack: 'w', label: { show: true, position: 'top', formatter: p => (p.data.sign || '') + usd(p.value) }, data: bar },
      ],
    });
  },

  arr_customers(d) {
    header('ARR and customers',
           'Annual recurring revenue (12 x MRR) and paying customers per day; signups per month. Source: elt_mart.fct_kpi_daily.');
    chart('ARR (USD) and paying customers per day', {
      legend: { top: 0 },
      xAxis: { type: 'time' },
      yAxis: [{ type: 'value', name: 'ARR' }, { type: 'value', name: 'customers' }],
      series: [
        { name: 'ARR', type: 'line', showSymbol: false, color: COLORS.mrr, data: d.daily.map(r => [r[0], r[1]]) },
        { name: 'paying customers', type: 'line', showSymbol: false, yAxisIndex: 1, color: COLORS.new,
          data: d.daily.map(r => [r[0], r[2]]) },
      ],
    });
    chart('Signups per month', {
      xAxis: { type: 'category', data: d.signups.map(r => r[0]) }, yAxis: { type: 'value' },
      series: [{ name: 'signups', type: 'bar', color: '#5c6bc0', data: d.signups.map(r => r[1]) }],
    });
  },

  cohort_retention(d) {
    header('Cohort retention',
           'Cohorts by the month of their first payment. Logo retention: share of the cohort\'s customers paying n months later. Net revenue retention: the cohort\'s MRR n months later as a share of its first month\'s MRR (expansion included). Source: elt_mart.fct_mrr_monthly.');
    const cohorts = [...new Set(d.map(r => r.cohort))];
    const ks = [...new Set(d.map(r => r.months_since))].sort((a, b) => a - b);
    const heat = (title, field, max) => chart(title, {
      tooltip: { position: 'top', formatter: p => 'cohort ' + cohorts[p.value[1]] + ', month ' + ks[p.value[0]] + ': ' + p.value[2] + '%' },
      grid: { left: 80, right: 30, top: 20, bottom: 90 },
      xAxis: { type: 'category', name: 'months since first payment', nameLocation: 'middle', nameGap: 28, data: ks.map(String) },
      yAxis: { type: 'category', data: cohorts, inverse: true },
      visualMap: { min: field === 'logo_pct' ? 50 : 50, max: max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0,
                   inRange: { color: ['#e53935', '#fff59d', '#2e7d32'] } },
      series: [{ name: title, type: 'heatmap', label: { show: true, fontSize: 10 },
                 data: d.map(r => [ks.indexOf(r.months_since), cohorts.indexOf(r.cohort), r[field]]) }],
    }, undefined, 460);
    heat('Logo retention (% of the cohort\'s customers still paying)', 'logo_pct', 100);
    heat('Net revenue retention (% of the cohort\'s first-month MRR)', 'nrr_pct', Math.max(110, ...d.map(r => r.nrr_pct)));
  },

  churn(d) {
    header('Churn',
           'Monthly customer churn rate: customers who stopped paying in a month / customers paying at its start, over all months. Engagement: days active in the month before. Sources: elt_mart.fct_mrr_monthly, dim_user (referral source), fct_usage_daily. Today a downgrade to Free counts as churn.');
    const row = el('div', 'row');
    const bars = (title, rows, key) => chart(title, {
      xAxis: { type: 'category', data: rows.map(r => r[key]) }, yAxis: { type: 'value', name: '% per month' },
      tooltip: { trigger: 'axis', formatter: p => p[0].name + ': ' + p[0].value + '% (' + rows[p[0].dataIndex].churned + ' of ' + rows[p[0].dataIndex].customer_months + ' customer-months)' },
      series: [{ name: 'churn rate', type: 'bar', color: COLORS.churn, label: { show: true, position: 'top', formatter: '{c}%' },
                 data: rows.map(r => r.churn_pct) }],
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
    header('Funnel',
           'From signup to paying customer, and the share of each channel\'s signups that paid. Sources: elt_mart.dim_user, fct_usage_daily, fct_mrr_monthly.');
    chart('Signup to paying customer (users)', {
      tooltip: { trigger: 'item', formatter: p => p.name + ': ' + num(p.value) },
      series: [{ name: 'funnel', type: 'funnel', left: '10%', width: '80%', sort: 'none', minSize: '20%',
                 label: { show: true, position: 'inside', formatter: p => p.name + ': ' + num(p.value) + ' (' + Math.round(100 * p.value / d.steps[0][1]) + '%)' },
                 data: d.steps.map(s => ({ name: s[0], value: s[1] })) }],
    });
    chart('Conversion by acquisition channel (% of signups)', {
      legend: { top: 0 },
      xAxis: { type: 'category', data: d.by_channel.map(r => r.channel) }, yAxis: { type: 'value' },
      series: [
        { name: 'paid at least once', type: 'bar', color: COLORS.new, data: d.by_channel.map(r => r.paid_pct) },
        { name: 'paying today', type: 'bar', color: COLORS.mrr, data: d.by_channel.map(r => r.paying_now_pct) },
      ],
    });
  },

  quota_exhaustion(d) {
    header('Quota exhaustion',
           'Share of monthly quota periods in which a subscription used up its plan\'s API calls or storage, by plan (plans with limits). Source: elt_mart.fct_usage_daily (peak of the period\'s running percentages), dim_plan.');
    chart('Quota periods exhausted, by plan (%)', {
      legend: { top: 0 },
      xAxis: { type: 'category', data: d.map(r => r.plan) }, yAxis: { type: 'value' },
      tooltip: { trigger: 'axis', formatter: p => p[0].name + ' (' + num(d[p[0].dataIndex].periods) + ' periods)<br>' + p.map(x => x.seriesName + ': ' + x.value + '%').join('<br>') },
      series: [
        { name: 'API calls exhausted', type: 'bar', color: '#5c6bc0', label: { show: true, position: 'top', formatter: '{c}%' }, data: d.map(r => r.api_exhausted_pct) },
        { name: 'storage exhausted', type: 'bar', color: '#ffa726', label: { show: true, position: 'top', formatter: '{c}%' }, data: d.map(r => r.storage_exhausted_pct) },
      ],
    });
    chart('Median share of the API quota used in a period, by plan (%)', {
      xAxis: { type: 'category', data: d.map(r => r.plan) }, yAxis: { type: 'value' },
      series: [{ name: 'median API quota used', type: 'bar', color: '#26a69a', label: { show: true, position: 'top', formatter: '{c}%' },
                 data: d.map(r => r.api_median_pct) }],
    });
  },

  active_users(d) {
    header('Active users',
           'DAU: users active that day; WAU and MAU: distinct users active in the 7 and 30 days up to that day. Stickiness: DAU / MAU. Sources: elt_mart.fct_kpi_daily, fct_usage_daily.');
    chart('DAU, WAU and MAU', {
      legend: { top: 0 }, xAxis: { type: 'time' }, yAxis: { type: 'value' },
      series: [['DAU', 1, '#5c6bc0'], ['WAU', 2, '#26a69a'], ['MAU', 3, COLORS.mrr]].map(([n, i, c]) => (
        { name: n, type: 'line', showSymbol: false, color: c, data: d.map(r => [r[0], r[i]]) })),
    });
    chart('Stickiness: DAU / MAU (%)', {
      xAxis: { type: 'time' }, yAxis: { type: 'value' },
      series: [{ name: 'DAU/MAU', type: 'line', showSymbol: false, color: COLORS.expansion,
                 data: d.filter(r => r[3] > 0).map(r => [r[0], Math.round(1000 * r[1] / r[3]) / 10]) }],
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

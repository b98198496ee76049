// The dashboard page: renders the state the server pushes once a second (/api/events), and
// posts the run form to /api/run. Every value is put in the page as text, never as HTML.
'use strict';

const dashboard = {
  state: null,
  charts: {},
  /** The transaction whose timeline is shown: { traceId, middleware }. */
  selected: null,
  /** Middleware chosen in the form: kept across renders. */
  chosenMiddleware: null,
};
window.dashboard = dashboard;

function element(tag, properties = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name.startsWith('data-')) node.setAttribute(name, value);
    else node[name] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

function formatDuration(ms) {
  if (ms === null || ms === undefined) return '-';
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

const COUNTER_LABELS = {
  commits: 'commits', rolledBack: 'rolled back', failed: 'failed', aborts: 'aborts', inFlight: 'in flight',
  applies: 'applies', syncs: 'syncs', pending: 'pending', keys: 'keys',
};

function renderCards(processes) {
  const cards = processes.map((process) => {
    const rows = [
      ['role', process.role],
      ['host', process.host],
      ['pid', process.pid ?? '-'],
      ['uptime', formatDuration(process.uptimeMs)],
    ];
    for (const [name, label] of Object.entries(COUNTER_LABELS)) {
      if (process.counters[name] !== undefined) rows.push([label, process.counters[name]]);
    }
    if (process.syncState !== null) rows.push(['sync', process.syncState]);
    if (process.incarnation !== null) rows.push(['incarnation', process.incarnation]);
    if (process.epoch !== null) rows.push(['epoch', process.epoch]);
    if (process.place !== null) rows.push(['view', process.reason ? `${process.place}: ${process.reason}` : process.place]);
    const list = element('dl', {}, rows.flatMap(([label, value]) => [element('dt', { text: label }), element('dd', { text: String(value) })]));
    const children = [
      element('h3', {}, [element('span', { text: process.name }), element('span', { class: 'state', text: process.up ? 'up' : 'down' })]),
      list,
    ];
    if (!process.up) children.push(element('p', { class: 'why', text: process.problem ?? 'no answer' }));
    return element('div', { class: `card ${process.up ? 'up' : 'down'}`, 'data-name': process.name, 'data-state': process.up ? 'up' : 'down' }, children);
  });
  document.getElementById('cards').replaceChildren(...cards);
}

function chartSize(container) {
  return { width: Math.max(300, container.clientWidth), height: 200 };
}

function makeChart(id, series) {
  const container = document.getElementById(id);
  const options = {
    ...chartSize(container),
    series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 2, spanGaps: false }))],
    // Whole seconds on the time axis, as clock times.
    axes: [{ space: 70, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300], values: (_, splits) => splits.map((seconds) => new Date(seconds * 1000).toLocaleTimeString()) }, { size: 50 }],
    scales: { x: { time: true } },
    legend: { live: false },
  };
  return new uPlot(options, [[], ...series.map(() => [])], container);
}

function renderCharts(series) {
  if (!dashboard.charts.rates) {
    dashboard.charts.rates = makeChart('chart-rates', [['commits/s', '#1f8a3b'], ['aborts/s', '#c62828']]);
    dashboard.charts.latency = makeChart('chart-latency', [['p50 ms', '#3b6fb6'], ['p99 ms', '#d68910']]);
    window.addEventListener('resize', () => {
      dashboard.charts.rates.setSize(chartSize(document.getElementById('chart-rates')));
      dashboard.charts.latency.setSize(chartSize(document.getElementById('chart-latency')));
    });
  }
  dashboard.charts.rates.setData([series.atSeconds, series.commitsPerSecond, series.abortsPerSecond]);
  dashboard.charts.latency.setData([series.atSeconds, series.latencyMsP50, series.latencyMsP99]);
  const points = (values) => values.filter((value) => value !== null).length;
  document.getElementById('chart-rates').dataset.points = String(points(series.commitsPerSecond));
  document.getElementById('chart-latency').dataset.points = String(points(series.latencyMsP50));
}

function renderView(view) {
  const container = document.getElementById('view');
  if (view === null) {
    container.replaceChildren(element('p', { class: 'note', text: 'No answering middleware has installed a view.' }));
    return;
  }
  const line = (label, text) => element('p', { class: 'view-line' }, [element('b', { text: label }), text]);
  const lines = [
    line('epoch', String(view.epoch)),
    line('members', view.members.map((member) => `${member.name} (${member.incarnation})`).join(', ') || 'none'),
    line('replicas', view.replicas.join(', ') || 'none'),
    line('joining', view.joining.join(', ') || 'none'),
    line('suspected', view.suspected.length === 0 ? 'none' : view.suspected.map((s) => `${s.name} by ${s.by}: ${s.why}`).join('; ')),
  ];
  container.replaceChildren(...lines);
}

function cell(text, className) {
  return element('td', { text: String(text), ...(className ? { class: className } : {}) });
}

function renderReplicas(replicas, note) {
  const rows = replicas.map((replica) => element('tr', { class: replica.up ? '' : 'down', 'data-name': replica.name }, [
    cell(replica.name),
    cell(replica.up ? 'up' : 'down'),
    cell(replica.applied ?? '-', 'number'),
    cell(replica.queued ?? '-', 'number'),
    cell(replica.waiting ?? '-', 'number'),
    cell(replica.place ?? '-'),
  ]));
  document.querySelector('#replicas tbody').replaceChildren(...rows);
  showNote('replicas-note', note);
}

function showNote(id, text) {
  const note = document.getElementById(id);
  note.hidden = !text;
  note.textContent = text ?? '';
}

function renderHotKeys(hotKeys) {
  showNote('hot-keys-note', [hotKeys.keys.length === 0 ? 'No conflicts yet.' : null, hotKeys.note].filter(Boolean).join(' ') || null);
  const rows = hotKeys.keys.map((key) => element('tr', {}, [cell(key.key), cell(key.aborts, 'number'), cell(key.waits, 'number')]));
  document.querySelector('#hot-keys tbody').replaceChildren(...rows);
}

function renderRecent(recent) {
  showNote('recent-note', [recent.transactions.length === 0 ? 'None yet.' : null, recent.note].filter(Boolean).join(' ') || null);
  const rows = recent.transactions.map((transaction) => {
    const row = element('tr', { 'data-trace': transaction.traceId }, [
      cell(new Date(transaction.startedAt).toLocaleTimeString()),
      cell(transaction.middleware),
      cell(transaction.errorCode ? `${transaction.outcome} (${transaction.errorCode})` : transaction.outcome),
      cell(transaction.totalMs.toFixed(1), 'number'),
      cell(transaction.traceId),
    ]);
    if (dashboard.selected && dashboard.selected.traceId === transaction.traceId) row.classList.add('selected');
    row.addEventListener('click', () => {
      dashboard.selected = { traceId: transaction.traceId, middleware: transaction.middleware };
      render();
    });
    return row;
  });
  document.querySelector('#recent tbody').replaceChildren(...rows);
}

/** Timelines fetched, by trace id: a listed transaction has ended, so its timeline no longer changes. */
const TIMELINES_KEPT_MAX = 100;
const timelines = new Map();
let timelineFetching = null;

/** Fetches the timeline of `traceId` once; renders again when it comes. Not listed yet: the next state tries again. */
async function fetchTimeline(traceId) {
  if (timelineFetching === traceId) return;
  timelineFetching = traceId;
  try {
    const response = await fetch(`/api/timeline?trace=${encodeURIComponent(traceId)}`);
    const { transaction } = response.ok ? await response.json() : { transaction: null };
    if (transaction === null) return;
    timelines.set(traceId, transaction);
    if (timelines.size > TIMELINES_KEPT_MAX) timelines.delete(timelines.keys().next().value);
    render();
  } catch {
    // The server is away: the connection line says so, and the next state tries again.
  } finally {
    timelineFetching = null;
  }
}

function renderTimeline() {
  const body = document.querySelector('#timeline tbody');
  const title = document.getElementById('timeline-title');
  const selected = dashboard.selected;
  if (selected === null) {
    body.replaceChildren();
    showNote('timeline-note', null);
    return;
  }
  if (!selected.traceId) {
    body.replaceChildren();
    title.textContent = '';
    showNote('timeline-note', `${selected.middleware} gave the transaction no trace id: it records no timelines.`);
    return;
  }
  const transaction = timelines.get(selected.traceId);
  title.textContent = `(${selected.traceId} on ${selected.middleware})`;
  if (!transaction) {
    body.replaceChildren();
    showNote('timeline-note', `Waiting for ${selected.middleware} to list this transaction (each middleware lists its last 50, and the dashboard asks once a second).`);
    void fetchTimeline(selected.traceId);
    return;
  }
  showNote('timeline-note', `${transaction.outcome}${transaction.errorCode ? ` (${transaction.errorCode})` : ''}, ${transaction.totalMs.toFixed(1)} ms in all, started ${new Date(transaction.startedAt).toLocaleTimeString()}`);
  const totalMs = Math.max(transaction.totalMs, ...transaction.timeline.map((event) => event.atMs), 0.001);
  const rows = transaction.timeline.map((event) => {
    const marker = element('span');
    marker.style.left = `${Math.min(100, (event.atMs / totalMs) * 100)}%`;
    return element('tr', { class: `phase-${event.phase}`, 'data-phase': event.phase }, [
      cell(event.atMs.toFixed(2), 'number'),
      cell(event.phase),
      cell(event.event),
      cell(event.node ?? ''),
      element('td', {}, [element('div', { class: 'bar' }, [marker])]),
    ]);
  });
  body.replaceChildren(...rows);
}

function renderMiddlewareChoice(processes) {
  const select = document.getElementById('run-middleware');
  const names = processes.filter((process) => process.role === 'middleware');
  const current = select.value || dashboard.chosenMiddleware;
  const options = names.map((process) => element('option', { value: String(process.id), text: `${process.name}${process.up ? '' : ' (down)'}` }));
  select.replaceChildren(...options);
  if (current && names.some((process) => String(process.id) === current)) select.value = current;
}

function render() {
  const state = dashboard.state;
  if (state === null) return;
  document.getElementById('cluster').textContent = `${state.clusterFile} · ${state.strategy} · ${new Date(state.generatedAt).toLocaleTimeString()}`;
  showNote('cluster-problem', state.clusterFileProblem ? `The cluster file cannot be read now (showing it as last read): ${state.clusterFileProblem}` : null);
  renderCards(state.processes);
  renderCharts(state.series);
  document.getElementById('latency-source').textContent = `Latency: ${state.latencySource}.`;
  renderView(state.view);
  renderReplicas(state.replicas, state.replicasNote);
  renderHotKeys(state.hotKeys);
  renderRecent(state.recent);
  renderTimeline();
  renderMiddlewareChoice(state.processes);
}

function connect() {
  const status = document.getElementById('connection');
  const events = new EventSource('/api/events');
  events.onopen = () => {
    status.textContent = 'live';
    status.classList.remove('lost');
  };
  events.onmessage = (message) => {
    dashboard.state = JSON.parse(message.data);
    render();
  };
  // EventSource reconnects by itself; say meanwhile that what is shown is old.
  events.onerror = () => {
    status.textContent = 'connection to the dashboard server lost: retrying';
    status.classList.add('lost');
  };
}

async function runTransaction(event) {
  event.preventDefault();
  const button = document.getElementById('run-button');
  const output = document.getElementById('run-output');
  const summary = document.getElementById('run-summary');
  const middleware = Number(document.getElementById('run-middleware').value);
  dashboard.chosenMiddleware = String(middleware);
  button.disabled = true;
  summary.textContent = 'running…';
  output.textContent = '';
  try {
    const response = await fetch('/api/run', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ middleware, commands: document.getElementById('run-commands').value }),
    });
    const answer = await response.json();
    if (!response.ok) {
      summary.textContent = answer.error.code;
      output.textContent = `occdb: ${answer.error.message}`;
      output.dataset.outcome = 'error';
      return;
    }
    const outcomes = answer.transactions.map((transaction) => transaction.outcome);
    summary.textContent = `on ${answer.middleware}: ${outcomes.join(', ') || 'nothing ran'}`;
    output.textContent = answer.classic + (answer.error ? `occdb: ${answer.error.message}\n` : '');
    output.dataset.outcome = outcomes.at(-1) ?? 'error';
    const last = answer.transactions.at(-1);
    if (last) dashboard.selected = { traceId: last.traceId ?? null, middleware: answer.middleware };
    render();
  } catch (error) {
    summary.textContent = 'failed';
    output.textContent = `the dashboard server did not answer: ${error.message}`;
    output.dataset.outcome = 'error';
  } finally {
    button.disabled = false;
  }
}

document.getElementById('run-form').addEventListener('submit', (event) => void runTransaction(event));
connect();

// The /ui page: reads /topology once and /workers every few seconds from the worker that served it,
// and runs store queries through the query routes (the merged batch + speed answers). With a token
// configured, the operator enters it once; it stays in this tab's sessionStorage and goes out as
// `Authorization: Bearer` on every data request.

import { topologySvg } from './graph.js';
import { fill, formatDuration, formatNumber, h, json, sparkline } from './render.js';

const REFRESH_MS = 5_000;
const TOKEN_KEY = 'lambda-streams-token';

const state = { token: null, stores: [], timer: null, started: false };

class HttpProblem extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path) {
  const headers = { accept: 'application/json' };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  const response = await fetch(path, { headers });
  const body = await response.json().catch(() => null);
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    askForToken('The worker refused the token: enter the token of this worker.');
    throw new HttpProblem(401, 'unauthorized', body?.message ?? 'unauthorized');
  }
  if (!response.ok) {
    throw new HttpProblem(
      response.status,
      body?.error ?? 'error',
      body?.message ?? `HTTP ${response.status}`,
    );
  }
  return body;
}

function banner(message) {
  const el = fill('banner', message ?? '');
  el.hidden = !message;
}

// ---- token ----

function askForToken(message) {
  stopRefresh();
  document.getElementById('token-panel').hidden = false;
  fill('token-message', message);
  document.getElementById('token-input').focus();
}

function onTokenSubmit(event) {
  event.preventDefault();
  const value = document.getElementById('token-input').value.trim();
  if (!value) return;
  state.token = value;
  sessionStorage.setItem(TOKEN_KEY, value);
  document.getElementById('token-input').value = '';
  document.getElementById('token-panel').hidden = true;
  void start();
}

// ---- topology ----

function renderTopology(graph) {
  fill('app-id', graph.applicationId);
  fill('bucket', formatDuration(graph.bucketMs));
  fill('graph', topologySvg(graph));
  fill(
    'internal-topics',
    graph.internalTopics.length === 0
      ? h('li', {}, 'none')
      : graph.internalTopics.map((t) =>
          h('li', {}, h('code', {}, t.name), h('span', { class: 'muted' }, ` ${t.kind}`)),
        ),
  );
  fill(
    'store-list',
    graph.stores.map((st) =>
      h(
        'tr',
        {},
        h('td', {}, h('code', {}, st.name)),
        h('td', {}, st.kind),
        h('td', {}, st.mergeable ? 'merged (view ⊕ deltas)' : 'latest wins'),
        h('td', {}, st.queryable ? 'yes' : 'no'),
        h('td', {}, st.changelog ? h('code', {}, st.changelog) : 'none'),
      ),
    ),
  );
  fill('mermaid', graph.mermaid);
}

// ---- workers, lag and throughput, restoration, view ----

function taskList(tasks) {
  if (tasks.length === 0) return h('span', { class: 'muted' }, 'none');
  return tasks.map((t) => h('span', { class: 'task' }, t));
}

function renderWorkers(workers, self) {
  fill(
    'workers',
    workers.map((w) => {
      const st = w.status;
      if (!st) {
        return h(
          'tr',
          { class: 'down' },
          h('td', {}, h('code', {}, w.endpoint)),
          h('td', { colspan: 6 }, `no answer: ${w.error ?? 'unknown'}`),
        );
      }
      const last = st.history.samples.at(-1);
      return h(
        'tr',
        { class: w.self ? 'self' : '' },
        h(
          'td',
          {},
          h('code', {}, w.endpoint),
          w.self ? h('span', { class: 'muted' }, ' (this worker)') : null,
        ),
        h('td', {}, h('span', { class: `state state-${st.state}` }, st.state)),
        h(
          'td',
          {},
          taskList(
            st.tasks.map(
              (t) =>
                `${t.id}${t.restoring ? ' (restoring)' : ''} · lag ${formatNumber(t.position.lagRecords)}`,
            ),
          ),
        ),
        h('td', {}, taskList(st.standbyTasks)),
        h('td', { class: 'num' }, formatNumber(st.lag.records)),
        h('td', { class: 'num' }, last ? formatNumber(last.processedPerSec) : '–'),
        h('td', {}, st.view ? h('code', {}, st.view.id) : h('span', { class: 'muted' }, 'none')),
      );
    }),
  );
  fill(
    'charts',
    workers
      .filter((w) => w.status)
      .map((w) => {
        const samples = w.status.history.samples;
        const series = (field) => samples.map((p) => ({ t: p.t, v: p[field] }));
        return h(
          'div',
          { class: 'chart-row' },
          h('div', { class: 'chart-title' }, h('code', {}, w.endpoint)),
          sparkline(series('lagRecords'), { label: 'lag (records)' }),
          sparkline(series('consumedPerSec'), { label: 'consumed/s' }),
          sparkline(series('processedPerSec'), { label: 'processed/s' }),
          sparkline(series('producedPerSec'), { label: 'produced/s' }),
        );
      }),
    workers.some((w) => w.status && w.status.history.samples.length > 0)
      ? null
      : h('p', { class: 'muted' }, `The first samples arrive ${REFRESH_MS / 1000} s after a worker starts.`),
  );

  const restoring = workers.flatMap((w) =>
    (w.status?.restoration.restoring ?? []).map((r) => ({ ...r, endpoint: w.endpoint })),
  );
  fill(
    'restoration',
    restoring.length === 0
      ? h(
          'p',
          { class: 'muted' },
          `No task is restoring. Changelog records restored since start: ${workers
            .map((w) => `${w.endpoint} ${formatNumber(w.status?.restoration.restoredRecords)}`)
            .join(', ')}.`,
        )
      : h(
          'table',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'worker'),
            h('th', {}, 'task'),
            h('th', {}, 'progress'),
            h('th', {}, 'stores behind'),
          ),
          restoring.map((r) =>
            h(
              'tr',
              {},
              h('td', {}, h('code', {}, r.endpoint)),
              h('td', {}, r.task),
              h(
                'td',
                {},
                h('progress', { max: Math.max(1, r.total), value: r.restored }),
                ` ${formatNumber(r.restored)} / ${formatNumber(r.total)}`,
              ),
              h('td', {}, r.stores.map((x) => `${x.store}: ${formatNumber(x.remaining)} left`).join(', ')),
            ),
          ),
        ),
  );

  const view = self.view;
  fill(
    'view',
    view
      ? h(
          'dl',
          {},
          h('dt', {}, 'id'),
          h('dd', { id: 'view-id' }, h('code', {}, view.id)),
          h('dt', {}, 'boundary'),
          h('dd', {}, `bucket ${view.boundaryBucket}: covers everything before ${view.boundaryTime}`),
          h('dt', {}, 'created'),
          h('dd', {}, `${view.createdAt} (${formatDuration(view.ageMs)} ago)`),
        )
      : h(
          'p',
          { class: 'muted', id: 'view-id' },
          'No batch view yet: answers come from the speed layer alone.',
        ),
  );
  fill('worker-state', self.state);
  fill('endpoint', self.endpoint ?? 'no application.server');
  fill('updated', new Date(self.time).toLocaleTimeString());
}

async function refresh() {
  try {
    const { workers } = await api('/workers');
    const self = workers.find((w) => w.self)?.status;
    if (self) renderWorkers(workers, self);
    // A worker that was starting when the page loaded listed no stores yet.
    if (state.stores.length === 0) {
      state.stores = (await api('/stores')).stores;
      if (state.stores.length > 0) renderStoreOptions();
    }
    banner(null);
  } catch (error) {
    if (error.status !== 401) banner(`Could not refresh: ${error.message}`);
  }
}

function stopRefresh() {
  clearInterval(state.timer);
  state.timer = null;
}

// ---- store browser ----

function renderStoreOptions() {
  const select = document.getElementById('store');
  const current = select.value;
  select.replaceChildren(
    ...state.stores.map((st) => h('option', { value: st.name }, `${st.name} (${st.kind})`)),
  );
  if (state.stores.some((st) => st.name === current)) select.value = current;
  onStoreChange();
}

function selectedStore() {
  return state.stores.find((st) => st.name === document.getElementById('store').value);
}

function onStoreChange() {
  const store = selectedStore();
  document.getElementById('window-fields').hidden = store?.kind !== 'window';
  document.getElementById('mode-range').disabled = store?.kind !== 'key-value';
  if (store?.kind !== 'key-value') document.getElementById('mode-key').checked = true;
  onModeChange();
}

function onModeChange() {
  const range = document.getElementById('mode-range').checked;
  document.getElementById('key-fields').hidden = range;
  document.getElementById('range-fields').hidden = !range;
}

function queryPath(store) {
  const value = (id) => document.getElementById(id).value;
  const params = new URLSearchParams();
  const keyFormat = value('key-format');
  if (keyFormat !== 'string') params.set('keyFormat', keyFormat);
  const name = encodeURIComponent(store.name);
  if (document.getElementById('mode-range').checked) {
    if (value('range-from')) params.set('from', value('range-from'));
    if (value('range-to')) params.set('to', value('range-to'));
    params.set('limit', value('range-limit') || '20');
    return `/stores/${name}/range?${params}`;
  }
  const key = encodeURIComponent(value('key'));
  if (store.kind === 'window') {
    if (value('window-from')) params.set('from', value('window-from'));
    if (value('window-to')) params.set('to', value('window-to'));
    return `/stores/${name}/keys/${key}/windows?${params}`;
  }
  if (store.kind === 'session') return `/stores/${name}/keys/${key}/sessions?${params}`;
  return `/stores/${name}/keys/${key}?${params}`;
}

function answerMeta(answer) {
  const view = answer.view;
  return h(
    'dl',
    { class: 'answer-meta' },
    h('dt', {}, 'batch view'),
    h(
      'dd',
      { id: 'answer-view' },
      view ? `${view.id} (covers before ${view.boundaryTime})` : 'none (speed layer only)',
    ),
    h('dt', {}, 'speed layer position'),
    h(
      'dd',
      {},
      `${json(answer.position.offsets).replace(/\s+/g, ' ')} · lag ${formatNumber(answer.position.lagRecords)} records`,
    ),
    h('dt', {}, 'served by'),
    h('dd', {}, Array.isArray(answer.servedBy) ? answer.servedBy.join(', ') : answer.servedBy),
    answer.mixedViews
      ? h('dd', { class: 'warn' }, 'workers answered from different views (a swap in progress)')
      : null,
  );
}

async function onQuery(event) {
  event.preventDefault();
  const store = selectedStore();
  if (!store) return;
  const path = queryPath(store);
  fill('query-path', `GET ${path}`);
  fill('query-result', h('p', { class: 'muted' }, 'asking…'));
  try {
    const answer = await api(path);
    let body;
    if (answer.entries) {
      body = h(
        'table',
        { id: 'query-entries' },
        h('tr', {}, h('th', {}, 'key'), h('th', {}, 'merged value')),
        answer.entries.map((e) =>
          h('tr', {}, h('td', {}, h('code', {}, json(e.key))), h('td', {}, h('pre', {}, json(e.value)))),
        ),
        answer.nextCursor
          ? h(
              'tr',
              {},
              h('td', { colspan: 2, class: 'muted' }, 'more entries: narrow the range or raise the limit'),
            )
          : null,
      );
    } else if (answer.windows || answer.sessions) {
      const list = answer.windows ?? answer.sessions;
      body = h(
        'table',
        { id: 'query-entries' },
        h('tr', {}, h('th', {}, 'start'), h('th', {}, 'end'), h('th', {}, 'merged value')),
        list.length === 0 ? h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'none')) : null,
        list.map((w) =>
          h(
            'tr',
            {},
            h('td', {}, w.startTime),
            h('td', {}, w.endTime),
            h('td', {}, h('pre', {}, json(w.value))),
          ),
        ),
      );
    } else {
      body = h(
        'div',
        {},
        h('div', { class: 'label' }, 'merged value'),
        h('pre', { id: 'query-value' }, answer.value === null ? 'null (no value)' : json(answer.value)),
      );
    }
    fill('query-result', body, answerMeta(answer));
  } catch (error) {
    fill('query-result', h('p', { class: 'error', id: 'query-error' }, `${error.code}: ${error.message}`));
  }
}

// ---- start ----

async function start() {
  if (state.started) return;
  try {
    const [graph, stores] = await Promise.all([api('/topology'), api('/stores')]);
    state.started = true;
    renderTopology(graph);
    state.stores = stores.stores;
    renderStoreOptions();
    await refresh();
    state.timer = setInterval(refresh, REFRESH_MS);
  } catch (error) {
    if (error.status !== 401) {
      banner(`Could not load: ${error.message}; retrying`);
      setTimeout(start, REFRESH_MS);
    }
  }
}

async function main() {
  document.getElementById('token-form').addEventListener('submit', onTokenSubmit);
  document.getElementById('query-form').addEventListener('submit', onQuery);
  document.getElementById('store').addEventListener('change', onStoreChange);
  document.getElementById('mode-key').addEventListener('change', onModeChange);
  document.getElementById('mode-range').addEventListener('change', onModeChange);
  const auth = await fetch('/ui/auth.json').then((r) => r.json());
  state.token = sessionStorage.getItem(TOKEN_KEY);
  if (auth.bearer && !state.token) {
    askForToken('This worker needs a bearer token (its --http-token).');
    return;
  }
  await start();
}

void main();

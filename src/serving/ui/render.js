// DOM helpers of the /ui page. Everything shown is built with createElement and text nodes, never
// innerHTML: keys and values are user data, and text nodes cannot run as markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An HTML element: h('td', { class: 'num' }, 'text', child, ...). Strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element, the same way. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
}

/** Replaces the children of the element with this id. */
export function fill(id, ...children) {
  const el = document.getElementById(id);
  el.replaceChildren();
  append(el, children);
  return el;
}

export function formatNumber(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  return Number(n).toLocaleString('en-US', { maximumFractionDigits: 1 });
}

/** 90 000 → "1 min 30 s". */
export function formatDuration(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** A value as JSON text (for display in a <pre>; shown through a text node). */
export function json(value) {
  return JSON.stringify(value, null, 2) ?? 'undefined';
}

/**
 * A small line chart of one series: the last `windowMs` of samples ({ t, v }), the newest value as a
 * label. Scaled to the series' own maximum.
 */
export function sparkline(samples, { width = 260, height = 48, windowMs = 600_000, label = '' } = {}) {
  const now = samples.length > 0 ? samples[samples.length - 1].t : Date.now();
  const max = Math.max(1, ...samples.map((p) => p.v));
  // A young worker has less than the window: its samples span the chart (at least a minute).
  const span = Math.min(windowMs, Math.max(60_000, samples.length > 0 ? now - samples[0].t : 0));
  const x = (t) => width - ((now - t) / span) * width;
  const y = (v) => height - 4 - (v / max) * (height - 14);
  const points = samples
    .filter((p) => now - p.t <= span)
    .map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`)
    .join(' ');
  const last = samples.length > 0 ? samples[samples.length - 1].v : null;
  return s(
    'svg',
    { class: 'spark', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label },
    s(
      'title',
      {},
      `${label}: ${formatNumber(last)} now, ${formatNumber(max)} max over the last ${formatDuration(span)}`,
    ),
    s('line', { x1: 0, y1: height - 4, x2: width, y2: height - 4, class: 'spark-axis' }),
    points ? s('polyline', { points, class: 'spark-line' }) : null,
    last !== null ? s('circle', { cx: x(now), cy: y(last), r: 2.5, class: 'spark-dot' }) : null,
    s(
      'text',
      { x: 2, y: 10, class: 'spark-label' },
      `${label} ${formatNumber(last)} (max ${formatNumber(max)})`,
    ),
  );
}

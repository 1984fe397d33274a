// The topology as an SVG graph, laid out here (no library): one box per sub-topology, left to right;
// inside a box, topics read at the top, then the nodes in layers by their distance from a source,
// stores beside the processors that use them, and the topics written at the bottom. A repartition
// topic shows at the bottom of the sub-topology that writes it and at the top of the one that reads it.

import { s } from './render.js';

const ROW = 64;
const NODE_H = 30;
const GAP = 18;
const PAD = 16;
const HEADER = 28;
const CHAR_W = 6.6;

const width = (text) => Math.max(120, Math.ceil(text.length * CHAR_W) + 24);

/** Lays out one sub-topology: rows of items with x/y, and edges between item ids. */
function layoutSub(sub, graph) {
  const internal = new Set(graph.internalTopics.map((t) => t.name));
  const byName = new Map(sub.nodes.map((n) => [n.name, n]));
  const depth = new Map();
  const depthOf = (name, seen = new Set()) => {
    if (depth.has(name)) return depth.get(name);
    if (seen.has(name)) return 0;
    seen.add(name);
    const node = byName.get(name);
    const parents = (node?.predecessors ?? []).filter((p) => byName.has(p));
    const d = parents.length === 0 ? 0 : 1 + Math.max(...parents.map((p) => depthOf(p, seen)));
    depth.set(name, d);
    return d;
  };
  sub.nodes.forEach((n) => depthOf(n.name));
  const layers = Math.max(0, ...depth.values()) + 1;

  // Rows: 0 = topics read; 1..layers = nodes (and their stores); layers + 1 = topics written.
  const rows = Array.from({ length: layers + 2 }, () => []);
  const items = new Map();
  const edges = [];
  const add = (row, item) => {
    items.set(item.id, item);
    rows[row].push(item);
  };
  const topicLabel = (topic) =>
    internal.has(`${graph.applicationId}-${topic}`) ? `${graph.applicationId}-${topic}` : topic;
  for (const node of sub.nodes) {
    const row = depth.get(node.name) + 1;
    add(row, { id: `node:${node.name}`, kind: node.kind, label: node.name, node });
    if (node.kind === 'source') {
      for (const topic of node.topics) {
        const id = `in:${topic}`;
        if (!items.has(id)) {
          const full = topicLabel(topic);
          add(0, { id, kind: 'topic', internal: full !== topic, label: full });
        }
        edges.push({ from: id, to: `node:${node.name}` });
      }
    }
    if (node.kind === 'sink' && node.topics[0] !== 'extractor') {
      const topic = node.topics[0];
      const id = `out:${topic}`;
      if (!items.has(id)) {
        const full = topicLabel(topic);
        add(layers + 1, { id, kind: 'topic', internal: full !== topic, label: full });
      }
      edges.push({ from: `node:${node.name}`, to: id });
    }
    for (const child of node.successors) edges.push({ from: `node:${node.name}`, to: `node:${child}` });
  }
  for (const node of sub.nodes) {
    for (const store of node.stores) {
      const id = `store:${store}`;
      if (!items.has(id)) {
        const info = graph.stores.find((x) => x.name === store);
        add(depth.get(node.name) + 1, { id, kind: 'store', label: store, store: info });
      }
      edges.push({ from: `node:${node.name}`, to: id, store: true });
    }
  }

  // Order each row by the mean position of its parents (fewer crossings), then place it.
  const parentsOf = (id) => edges.filter((e) => e.to === id && !e.store).map((e) => items.get(e.from));
  let boxWidth = 0;
  rows.forEach((row, r) => {
    if (r > 0) {
      const key = (item) => {
        const parents = (
          item.kind === 'store'
            ? edges.filter((e) => e.to === item.id).map((e) => items.get(e.from))
            : parentsOf(item.id)
        ).filter((p) => p.cx !== undefined);
        return parents.length === 0 ? Infinity : parents.reduce((a, p) => a + p.cx, 0) / parents.length;
      };
      row.sort((a, b) => key(a) - key(b) || (a.kind === 'store') - (b.kind === 'store'));
    }
    let x = 0;
    for (const item of row) {
      item.w = width(item.label);
      item.x = x;
      item.cx = x + item.w / 2;
      x += item.w + GAP;
    }
    row.width = Math.max(0, x - GAP);
    boxWidth = Math.max(boxWidth, row.width);
  });
  rows.forEach((row, r) => {
    const shift = PAD + (boxWidth - row.width) / 2;
    for (const item of row) {
      item.x += shift;
      item.cx += shift;
      item.y = HEADER + PAD + r * ROW;
    }
  });
  const used = rows.filter((row) => row.length > 0).length;
  const lastRow = rows.reduce((last, row, r) => (row.length > 0 ? r : last), 0);
  return {
    items: [...items.values()],
    edges,
    width: boxWidth + 2 * PAD,
    height: HEADER + PAD + lastRow * ROW + NODE_H + PAD,
    used,
  };
}

function shape(item) {
  const { x, y, w } = item;
  if (item.kind === 'topic') {
    const k = 8;
    return s('polygon', {
      points: `${x + k},${y} ${x + w},${y} ${x + w - k},${y + NODE_H} ${x},${y + NODE_H}`,
      class: item.internal ? 'shape topic internal' : 'shape topic',
    });
  }
  if (item.kind === 'store') {
    const e = 5;
    return s('path', {
      d:
        `M${x},${y + e} a${w / 2},${e} 0 0,1 ${w},0 v${NODE_H - 2 * e} a${w / 2},${e} 0 0,1 ${-w},0 z ` +
        `M${x},${y + e} a${w / 2},${e} 0 0,0 ${w},0`,
      class: 'shape store',
    });
  }
  return s('rect', {
    x,
    y,
    width: w,
    height: NODE_H,
    rx: item.kind === 'processor' ? 4 : 14,
    class: `shape ${item.kind}`,
  });
}

function tooltip(item) {
  if (item.kind === 'topic') return `${item.internal ? 'internal topic' : 'topic'} ${item.label}`;
  if (item.kind === 'store') {
    const st = item.store;
    if (!st) return `store ${item.label}`;
    return [
      `store ${st.name} (${st.kind}${st.mergeable ? ', mergeable' : ''}${st.queryable ? ', queryable' : ''})`,
      st.changelog ? `changelog ${st.changelog}` : 'no changelog',
    ].join('\n');
  }
  const n = item.node;
  const lines = [`${n.kind} ${n.name}`];
  if (n.topics.length > 0) lines.push(`topics: ${n.topics.join(', ')}`);
  if (n.stores.length > 0) lines.push(`stores: ${n.stores.join(', ')}`);
  return lines.join('\n');
}

/** The SVG of the whole topology. */
export function topologySvg(graph) {
  const boxes = graph.subTopologies.map((sub) => ({ sub, layout: layoutSub(sub, graph) }));
  let x = 0;
  const height = Math.max(120, ...boxes.map((b) => b.layout.height));
  const groups = boxes.map(({ sub, layout }) => {
    const g = s(
      'g',
      { class: 'subtopology', 'data-subtopology': sub.id, transform: `translate(${x},0)` },
      s('rect', { x: 0.5, y: 0.5, width: layout.width, height: height - 1, rx: 6, class: 'box' }),
      s(
        'text',
        { x: PAD, y: 19, class: 'box-title' },
        `Sub-topology ${sub.id}${sub.global ? ' (global)' : ''}`,
      ),
    );
    const byId = new Map(layout.items.map((i) => [i.id, i]));
    for (const edge of layout.edges) {
      const a = byId.get(edge.from);
      const b = byId.get(edge.to);
      if (!a || !b) continue;
      if (edge.store) {
        // Beside each other (same row) or across rows: a dashed link, no arrow.
        const sameRow = a.y === b.y;
        g.append(
          s('line', {
            x1: sameRow ? (a.x < b.x ? a.x + a.w : a.x) : a.cx,
            y1: sameRow ? a.y + NODE_H / 2 : a.y + NODE_H,
            x2: sameRow ? (a.x < b.x ? b.x : b.x + b.w) : b.cx,
            y2: sameRow ? b.y + NODE_H / 2 : b.y,
            class: 'edge store-edge',
          }),
        );
        continue;
      }
      const y1 = a.y + NODE_H;
      const y2 = b.y;
      const mid = (y1 + y2) / 2;
      g.append(
        s('path', {
          d: `M${a.cx},${y1} C${a.cx},${mid} ${b.cx},${mid} ${b.cx},${y2 - 2}`,
          class: 'edge',
          'marker-end': 'url(#arrow)',
        }),
      );
    }
    for (const item of layout.items) {
      g.append(
        s(
          'g',
          {
            class: `item ${item.kind}`,
            ...(item.kind === 'topic' ? { 'data-topic': item.label } : {}),
            ...(item.kind === 'store' ? { 'data-store': item.label } : {}),
            ...(item.node ? { 'data-node': item.node.name, 'data-kind': item.node.kind } : {}),
          },
          s('title', {}, tooltip(item)),
          shape(item),
          s(
            'text',
            { x: item.cx, y: item.y + NODE_H / 2 + 4, 'text-anchor': 'middle', class: 'label' },
            item.label,
          ),
        ),
      );
    }
    x += layout.width + 24;
    return g;
  });
  const total = Math.max(0, x - 24);
  return s(
    'svg',
    {
      id: 'topology-svg',
      width: total,
      height,
      viewBox: `0 0 ${total} ${height}`,
      role: 'img',
      'aria-label': `topology of ${graph.applicationId}`,
    },
    s(
      'defs',
      {},
      s(
        'marker',
        {
          id: 'arrow',
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto',
        },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }),
      ),
    ),
    groups,
  );
}

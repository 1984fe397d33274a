/**
 * JSON schemas of the routes: fastify validates params, query strings and marker headers with them
 * (a failure is a 400 naming the parameter), and @fastify/swagger turns them into /openapi.json.
 * Response schemas document the answers; the server serializes with plain JSON.stringify of values
 * already made JSON-safe (json-value.ts), so a schema can never turn an answer into a 500.
 */
import { DEFAULT_SCAN_LIMIT, DEFAULT_WAIT_MS, MAX_SCAN_LIMIT, MAX_WAIT_MS } from './limits.ts';
import { FORWARDED_HEADER, SCOPE_HEADER } from './forwarding.ts';

const KEY_FORMATS = ['string', 'json', 'base64'];
const TOPIC_OFFSET = '[A-Za-z0-9._-]{1,249}:[0-9]{1,10}:[0-9]{1,16}';
const TIME =
  '^([0-9]{1,16}|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?)$';

const storeParam = {
  type: 'string',
  minLength: 1,
  maxLength: 249,
  description: 'store name (GET /stores lists them)',
} as const;
const keyParam = {
  type: 'string',
  minLength: 1,
  description: 'the key, URL-encoded, written as keyFormat says',
} as const;

const keyFormat = {
  type: 'string',
  enum: KEY_FORMATS,
  default: 'string',
  description:
    "how keys in the URL are written: 'string' (as is), 'json' (JSON text, e.g. 42 or {\"user\":7}), or 'base64' of the serialized key",
} as const;

const stale = {
  type: 'boolean',
  default: false,
  description:
    'allow an answer from a standby replica when the active worker cannot answer (answers say stale: true)',
} as const;

const freshness = {
  minOffsets: {
    type: 'string',
    maxLength: 20_000,
    pattern: `^${TOPIC_OFFSET}(,${TOPIC_OFFSET})*$`,
    description:
      'wait until the answering worker has processed these source offsets: topic:partition:offset,... (partitions it does not read are not waited for)',
  },
  maxLagMs: {
    type: 'integer',
    minimum: 0,
    maximum: 2_147_483_647,
    description: "wait until the answering worker's lag is at most this many milliseconds",
  },
  waitMs: {
    type: 'integer',
    minimum: 0,
    maximum: MAX_WAIT_MS,
    default: DEFAULT_WAIT_MS,
    description: 'how long a freshness wait may take before a 503',
  },
} as const;

const scanPaging = {
  limit: { type: 'integer', minimum: 1, maximum: MAX_SCAN_LIMIT, default: DEFAULT_SCAN_LIMIT },
  cursor: {
    type: 'string',
    minLength: 1,
    maxLength: 8192,
    pattern: '^[A-Za-z0-9_-]+$',
    description: "the previous page's nextCursor: continue strictly after it",
  },
  reverse: { type: 'boolean', default: false, description: 'descending serialized-key order' },
} as const;

function query(properties: Record<string, unknown>) {
  return { type: 'object', additionalProperties: false, properties } as const;
}

function params(properties: Record<string, unknown>) {
  return { type: 'object', required: Object.keys(properties), properties } as const;
}

const forwardedHeader = {
  type: 'object',
  properties: {
    [FORWARDED_HEADER]: {
      type: 'string',
      enum: ['1'],
      description:
        'set by a worker that forwards a request to the key owner; the owner does not forward again',
    },
  },
} as const;

const scopeHeader = {
  type: 'object',
  properties: {
    [SCOPE_HEADER]: {
      type: 'string',
      enum: ['local'],
      description:
        "set on a scan's inner requests between workers: answer from this worker's partitions only",
    },
  },
} as const;

// --- answers -------------------------------------------------------------------------------------

const anyValue = { description: 'a JSON value (see docs/serving-http.md for how store values map to JSON)' };

const viewRef = {
  type: ['object', 'null'],
  description: 'the batch view merged into the answer (null: none published or loaded yet)',
  properties: {
    id: { type: 'string' },
    boundaryBucket: { type: 'integer' },
    boundaryTime: { type: 'string', description: 'the first instant the view does not cover (ISO time)' },
  },
} as const;

const position = {
  type: 'object',
  description: 'how far the speed layer had read when it answered',
  properties: {
    offsets: {
      type: 'object',
      description: 'source topic → partition → next offset to process',
      additionalProperties: { type: 'object', additionalProperties: { type: 'integer' } },
    },
    lagRecords: { type: 'integer', description: 'records in those partitions not processed yet' },
  },
} as const;

const answerFields = {
  view: viewRef,
  position,
  servedBy: { type: 'string', description: 'the worker that computed the answer (host:port, or "local")' },
  stale: { type: 'boolean', description: 'answered from a standby replica' },
} as const;

const hostInfo = {
  type: 'object',
  properties: { host: { type: 'string' }, port: { type: 'integer' } },
} as const;

export const errorBody = {
  type: 'object',
  description: 'every refusal: a code and a sentence saying what to do',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

const errors = { '4xx': errorBody, '5xx': errorBody } as const;

const windowed = (bounds: string) =>
  ({
    type: 'object',
    properties: {
      start: { type: 'integer', description: `${bounds}, ms` },
      end: { type: 'integer' },
      startTime: { type: 'string' },
      endTime: { type: 'string' },
      value: anyValue,
    },
  }) as const;

const scanAnswer = {
  type: 'object',
  properties: {
    store: { type: 'string' },
    entries: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          key: anyValue,
          value: anyValue,
          keyBytes: { type: 'string', description: 'the serialized key, base64' },
        },
      },
    },
    nextCursor: {
      type: ['string', 'null'],
      description: 'pass as ?cursor= for the next page; null: this was the last page',
    },
    view: viewRef,
    position,
    servedBy: { type: 'array', items: { type: 'string' }, description: 'the workers that answered' },
    mixedViews: { type: 'boolean', description: 'the workers answered from different batch views (a swap)' },
  },
} as const;

// --- routes --------------------------------------------------------------------------------------

const secured = [{ bearer: [] }];

export const storesSchema = {
  summary: 'The stores this application can answer for',
  tags: ['stores'],
  security: secured,
  response: {
    200: {
      type: 'object',
      properties: {
        stores: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              kind: { type: 'string', enum: ['key-value', 'window', 'session'] },
              mergeable: { type: 'boolean' },
              partitions: { type: 'integer' },
              window: {
                type: 'object',
                properties: {
                  sizeMs: { type: 'integer' },
                  advanceMs: { type: 'integer' },
                  graceMs: { type: 'integer' },
                },
              },
            },
          },
        },
      },
    },
    ...errors,
  },
};

/** A route about one key: store and key in the path, the key routes' query, an answer of `result` fields. */
function keyRoute(summary: string, extraQuery: Record<string, unknown>, result: Record<string, unknown>) {
  return {
    summary,
    tags: ['stores'],
    security: secured,
    params: params({ store: storeParam, key: keyParam }),
    querystring: query({ keyFormat, stale, ...extraQuery, ...freshness }),
    headers: forwardedHeader,
    response: {
      200: {
        type: 'object',
        properties: { store: { type: 'string' }, key: anyValue, ...result, ...answerFields },
      },
      ...errors,
    },
  };
}

export const keySchema = keyRoute(
  'The merged (batch + speed) value of one key; forwarded to the worker that owns it',
  {
    asOf: {
      type: 'string',
      pattern: TIME,
      description:
        'versioned stores only: the version valid at this time (epoch ms or ISO time), as Kafka Streams answers get(key, asOfTimestamp)',
    },
  },
  {
    value: { description: 'the merged value; null when the key has none' },
    timestamp: {
      type: 'integer',
      description: 'versioned stores: the timestamp of the version answered (absent when there is none)',
    },
  },
);

export const windowsSchema = keyRoute(
  'The windows of one key of a window store with start in [from, to]',
  {
    from: {
      type: 'string',
      pattern: TIME,
      description: 'earliest window start: epoch ms or ISO time (default 0)',
    },
    to: {
      type: 'string',
      pattern: TIME,
      description: 'latest window start: epoch ms or ISO time (default: no limit)',
    },
  },
  { windows: { type: 'array', items: windowed('window [start, end)') } },
);

export const sessionsSchema = keyRoute(
  'The sessions of one key of a session store',
  {},
  { sessions: { type: 'array', items: windowed('session [start, end], both inclusive') } },
);

export const rangeSchema = {
  summary: 'Entries with keys in [from, to] over all partitions, in serialized-key order, a page at a time',
  tags: ['stores'],
  security: secured,
  params: params({ store: storeParam }),
  querystring: query({
    from: { type: 'string', maxLength: 8192, description: 'lowest key, inclusive (default: the first)' },
    to: { type: 'string', maxLength: 8192, description: 'highest key, inclusive (default: the last)' },
    keyFormat,
    ...scanPaging,
    ...freshness,
  }),
  headers: scopeHeader,
  response: { 200: scanAnswer, ...errors },
};

export const prefixSchema = {
  summary: 'Entries whose serialized key starts with the serialized prefix, over all partitions',
  tags: ['stores'],
  security: secured,
  params: params({
    store: storeParam,
    prefix: { ...keyParam, description: 'the prefix, written as keyFormat says' },
  }),
  querystring: query({ keyFormat, ...scanPaging, ...freshness }),
  headers: scopeHeader,
  response: { 200: scanAnswer, ...errors },
};

export const metadataSchema = {
  summary: 'Which worker owns a key (active host, standbys, partition)',
  tags: ['metadata'],
  security: secured,
  params: params({ store: storeParam, key: keyParam }),
  querystring: query({ keyFormat }),
  response: {
    200: {
      type: 'object',
      properties: {
        store: { type: 'string' },
        key: anyValue,
        partition: { type: 'integer' },
        activeHost: { ...hostInfo, type: ['object', 'null'], description: 'null while no worker owns it' },
        standbyHosts: { type: 'array', items: hostInfo },
        local: { type: 'boolean', description: 'the answering worker is the active host' },
      },
    },
    ...errors,
  },
};

export const healthSchema = {
  summary: 'Liveness and state of this worker (200 when healthy, else 503); needs no token',
  tags: ['operations'],
  security: [],
  response: {
    200: { type: 'object', additionalProperties: true, properties: { ok: { type: 'boolean' } } },
    503: { type: 'object', additionalProperties: true, properties: { ok: { type: 'boolean' } } },
  },
};

export const metricsSchema = {
  summary: 'Prometheus metrics (text exposition format)',
  tags: ['operations'],
  security: secured,
  produces: ['text/plain'],
  response: { 200: { type: 'string' }, ...errors },
};

export const openapiSchema = {
  summary: 'This document',
  tags: ['operations'],
  security: secured,
  response: { 200: { type: 'object', additionalProperties: true } },
};

const looseObject = { type: 'object', additionalProperties: true } as const;
const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

export const topologySchema = {
  summary: "The application's topology: sub-topologies, nodes, stores, internal topics, Mermaid text",
  tags: ['operations'],
  security: secured,
  querystring: noQuery,
  response: { 200: looseObject, ...errors },
};

export const statusSchema = {
  summary:
    "This worker's state, tasks with positions and lag, restoration, batch view in use, and lag and throughput samples",
  tags: ['operations'],
  security: secured,
  querystring: noQuery,
  response: { 200: looseObject, ...errors },
};

export const workersSchema = {
  summary: 'Every worker of the group with its /status (or why it did not answer), asked by this worker',
  tags: ['operations'],
  security: secured,
  querystring: noQuery,
  response: { 200: looseObject, ...errors },
};

export const uiFileSchema = {
  summary: 'The operator page (/ui) and its static files: no data, needs no token',
  tags: ['operations'],
  security: [],
  hide: true,
};

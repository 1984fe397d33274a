/**
 * `lambda-streams query <store> <key>`: asks a running worker's HTTP API for a key and prints the
 * merged value with the batch view and speed-layer position it reflects (or the raw JSON answer with
 * --json). Window and session stores print the key's windows or sessions. Exit 1 with the server's
 * message on a refusal, or a clear line when nothing answers at the URL.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';

import { DEFAULT_HTTP_PORT } from '../serving/http/limits.ts';

export interface QueryOptions {
  url: string;
  keyFormat: 'string' | 'json' | 'base64';
  token?: string;
  json?: boolean;
  stale?: boolean;
  timeout: number;
}

interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

class QueryFailure extends Error {}

interface ViewJson {
  id: string;
  boundaryBucket: number;
  boundaryTime: string;
}
interface AnswerJson {
  key: unknown;
  value?: unknown;
  windows?: {
    startTime: string | null;
    endTime: string | null;
    start: number;
    end: number;
    value: unknown;
  }[];
  sessions?: {
    startTime: string | null;
    endTime: string | null;
    start: number;
    end: number;
    value: unknown;
  }[];
  view: ViewJson | null;
  position: { offsets: Record<string, Record<string, number>>; lagRecords: number };
  servedBy: string;
  stale: boolean;
}

/** GET a path of the worker's API; throws QueryFailure with a sentence for every way it can fail. */
async function request(options: QueryOptions, path: string): Promise<{ body: unknown; text: string }> {
  const base = options.url.replace(/\/+$/, '');
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${base}${path}`, {
      headers: {
        accept: 'application/json',
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      signal: AbortSignal.timeout(options.timeout),
    });
    text = await response.text();
  } catch (err) {
    const error = err as Error & { cause?: { code?: string } };
    if (error.name === 'TimeoutError') {
      throw new QueryFailure(`${base} did not answer within ${options.timeout} ms`);
    }
    const code = error.cause?.code ?? error.message;
    throw new QueryFailure(
      `nothing answers at ${base} (${code}): is a worker serving its HTTP API there? Pass its address with --url`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new QueryFailure(
      `${base} answered HTTP ${response.status} without JSON (${response.headers.get('content-type') ?? 'no content type'}): is it a lambda-streams worker?`,
    );
  }
  if (!response.ok) {
    const { error, message } = body as { error?: string; message?: string };
    const retry = response.headers.get('retry-after');
    throw new QueryFailure(
      `${message ?? 'the worker refused the query'} (HTTP ${response.status}${error ? ` ${error}` : ''}` +
        `${retry ? `; retry after ${retry} s` : ''})`,
    );
  }
  return { body, text };
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '(no value)';
  const text = JSON.stringify(value, null, 2);
  return text.includes('\n') ? `\n${text.replace(/^/gm, '    ')}` : text;
}

function describeView(view: ViewJson | null): string {
  return view === null
    ? 'none (speed layer only: no batch view loaded yet)'
    : `${view.id} (batch data before ${view.boundaryTime}, bucket ${view.boundaryBucket})`;
}

/** `pageviews-0@120, pageviews-1@98 (lag 0 records)`: Kafka's topic-partition names, next offset. */
function describePosition(position: AnswerJson['position']): string {
  const parts = Object.entries(position.offsets).flatMap(([topic, partitions]) =>
    Object.entries(partitions).map(([partition, offset]) => `${topic}-${partition}@${offset}`),
  );
  return `${parts.length > 0 ? parts.join(', ') : 'no partitions'} (lag ${position.lagRecords} records)`;
}

/** The readable form of an answer of the key, windows or sessions route. */
export function formatAnswer(store: string, answer: AnswerJson): string {
  const lines: string[] = [];
  const key = typeof answer.key === 'string' ? answer.key : JSON.stringify(answer.key);
  const spans = answer.windows ?? answer.sessions;
  if (spans) {
    const noun = answer.windows ? 'window' : 'session';
    lines.push(`${store} ${key}: ${spans.length} ${noun}${spans.length === 1 ? '' : 's'}`);
    for (const span of spans) {
      lines.push(`  ${span.startTime ?? span.start} .. ${span.endTime ?? span.end}  ${show(span.value)}`);
    }
  } else {
    const value = show(answer.value);
    lines.push(`${store} ${key} =${value.startsWith('\n') ? '' : ' '}${value}`);
  }
  lines.push(`  view:      ${describeView(answer.view)}`);
  lines.push(`  position:  ${describePosition(answer.position)}`);
  lines.push(`  served by: ${answer.servedBy}${answer.stale ? ' (a standby replica: may be stale)' : ''}`);
  return `${lines.join('\n')}\n`;
}

/** Runs the query; resolves with the exit code. */
export async function runQuery(
  store: string,
  key: string,
  options: QueryOptions,
  io: Output,
): Promise<number> {
  try {
    const { body: listing } = await request(options, '/stores');
    const stores = (listing as { stores?: { name: string; kind: string }[] }).stores ?? [];
    const info = stores.find((s) => s.name === store);
    if (!info) {
      throw new QueryFailure(
        `no store named ${store}; this worker has: ${stores.map((s) => s.name).join(', ') || 'none'}`,
      );
    }
    const suffix = info.kind === 'window' ? '/windows' : info.kind === 'session' ? '/sessions' : '';
    const query = new URLSearchParams({
      keyFormat: options.keyFormat,
      ...(options.stale ? { stale: 'true' } : {}),
    });
    const path = `/stores/${encodeURIComponent(store)}/keys/${encodeURIComponent(key)}${suffix}?${query}`;
    const { body, text } = await request(options, path);
    io.out(options.json ? `${text}\n` : formatAnswer(store, body as AnswerJson));
    return 0;
  } catch (err) {
    if (!(err instanceof QueryFailure)) throw err;
    io.err(`lambda-streams query: ${err.message}\n`);
    return 1;
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`not a positive integer: ${value}`);
  return n;
}

export function registerQueryCommand(program: Command): void {
  program
    .command('query')
    .description(
      "ask a running worker's HTTP API for a key: the merged batch + speed value, its view and position",
    )
    .argument('<store>', 'store name (the worker lists them at GET /stores)')
    .argument('<key>', 'the key, written as --key-format says')
    .option('--url <url>', "the worker's HTTP API", `http://127.0.0.1:${DEFAULT_HTTP_PORT}`)
    .addOption(
      new Option(
        '--key-format <format>',
        'how <key> is written: as is, JSON text, or base64 of the serialized key',
      )
        .choices(['string', 'json', 'base64'])
        .default('string'),
    )
    .addOption(new Option('--token <token>', 'bearer token of the HTTP API').env('LAMBDA_STREAMS_HTTP_TOKEN'))
    .option('--stale', 'accept an answer from a standby replica')
    .option('--json', 'print the raw JSON answer')
    .option('--timeout <ms>', 'give up after this many milliseconds', positiveInt, 10_000)
    .action(async (store: string, key: string, options: QueryOptions) => {
      process.exitCode = await runQuery(store, key, options, {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
      });
    });
}

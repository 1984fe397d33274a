/**
 * Hostile input: malformed records (garbage bytes, truncated MessagePack, wrong types, missing fields,
 * null keys, 5 MB values) mixed with good payments, read by a worker CLI process with the continue
 * handlers and a dead-letter topic (exactly_once). No crash; the good records are summed exactly (read
 * back over HTTP); every malformed record is accounted for: in the dead-letter topic, or counted in
 * lambda_streams_dropped_records_total{reason="null-key"}.
 */
import path from 'node:path';

import type { OutgoingRecord } from '../../src/kafka/client.ts';
import { Serdes } from '../../src/index.ts';
import {
  Kafka,
  PAYMENTS,
  Processes,
  Worker,
  getJson,
  metricSum,
  random,
  result,
  sleep,
  type ChaosContext,
  type ScenarioResult,
} from '../lib/harness.ts';

const SIZES = {
  reduced: { malformed: 2_000, good: 500 },
  full: { malformed: 10_000, good: 2_000 },
};
const BIG = 5 * 1024 * 1024;

export async function hostileInput(ctx: ChaosContext): Promise<ScenarioResult> {
  const started = Date.now();
  const name = 'hostile-input';
  const { malformed: MALFORMED, good: GOOD } = SIZES[ctx.size];
  const rnd = random(ctx.seed ^ 0x40);
  const kafka = new Kafka(ctx.brokers);
  const processes = new Processes();
  const input = `chaos-${ctx.runId}-${name}-in`;
  const dlq = `chaos-${ctx.runId}-${name}-dlq`;
  const applicationId = `chaos-${ctx.runId}-${name}`;
  const notes: string[] = [];
  try {
    await kafka.createTopics({ [input]: 3, [dlq]: 1 }, { 'max.message.bytes': String(8 * 1024 * 1024) });
    const msgpack = Serdes.MsgPack<unknown>();
    const records: OutgoingRecord[] = [];
    const totals = new Map<string, number>();
    let nullKeys = 0;
    const every = (GOOD + MALFORMED) / GOOD;
    for (let i = 0; i < GOOD + MALFORMED; i++) {
      const user = `u${rnd.between(0, 50)}`;
      if (i % every === 0) {
        const amount = rnd.between(0, 1000);
        totals.set(user, (totals.get(user) ?? 0) + amount);
        records.push({
          topic: input,
          key: Buffer.from(user),
          value: msgpack.serialize({ user, amount }),
          timestamp: Date.now(),
        });
        continue;
      }
      const kind =
        i % 997 === 1
          ? 'big'
          : (['garbage', 'truncated', 'wrong-type', 'missing-field', 'null-key'] as const)[
              rnd.between(0, 5)
            ]!;
      let key: Buffer | null = Buffer.from(user);
      let value: Buffer;
      switch (kind) {
        case 'garbage':
          // 0xc1 first: never valid MessagePack, so garbage never decodes to a payment by chance.
          value = Buffer.from([
            0xc1,
            ...Array.from({ length: rnd.between(0, 40) }, () => rnd.between(0, 256)),
          ]);
          break;
        case 'truncated': {
          const whole = msgpack.serialize({ user, amount: 12.5, note: 'x'.repeat(20) });
          value = whole.subarray(0, 1 + rnd.between(0, whole.length - 2));
          break;
        }
        case 'wrong-type':
          value = msgpack.serialize({ user, amount: 'a lot' });
          break;
        case 'missing-field':
          value = msgpack.serialize({ user });
          break;
        case 'null-key':
          key = null;
          nullKeys++;
          value = msgpack.serialize({ user, amount: 1 });
          break;
        default:
          value = Buffer.alloc(BIG, 0xc1);
      }
      records.push({ topic: input, key, value, timestamp: Date.now() });
    }
    for (let i = 0; i < records.length; i += 500) await kafka.produce(records.slice(i, i + 500));
    ctx.log(`${name}: ${GOOD} good and ${MALFORMED} malformed records produced`);

    const worker = processes.add(
      new Worker({
        ctx,
        name,
        topology: PAYMENTS,
        applicationId,
        stateDir: path.join(ctx.workDir, name),
        guarantee: 'exactly_once',
        env: { CHAOS_INPUT_TOPIC: input },
        extraArgs: [
          '--on-bad-record',
          'skip',
          '--on-processing-error',
          'continue',
          '--dead-letter-topic',
          dlq,
        ],
      }),
    );
    const url = await worker.url;
    const accounted = async (): Promise<{
      deadLetters: number;
      droppedNullKeys: number;
      metrics: string;
    }> => {
      const metrics = (await getJson(`${url}/metrics`)).body as string;
      return {
        deadLetters: await kafka.countRecords(dlq),
        droppedNullKeys: metricSum(metrics, 'lambda_streams_dropped_records_total', 'reason="null-key"'),
        metrics,
      };
    };
    const deadline = Date.now() + 600_000;
    let seen = await accounted();
    while (seen.deadLetters + seen.droppedNullKeys < MALFORMED && Date.now() < deadline && !worker.exit) {
      await sleep(1_000);
      seen = await accounted();
    }
    await sleep(3_000); // nothing more arrives: no record dead-lettered twice
    seen = await accounted();
    const malformedAccounted = seen.deadLetters + seen.droppedNullKeys;
    if (seen.droppedNullKeys !== nullKeys)
      notes.push(`${seen.droppedNullKeys} null keys counted as dropped, ${nullKeys} produced`);
    const handled =
      metricSum(seen.metrics, 'lambda_streams_dropped_records_total', 'reason="deserialization"') +
      metricSum(seen.metrics, 'lambda_streams_dropped_records_total', 'reason="processing-error"');
    if (handled !== seen.deadLetters)
      notes.push(`${seen.deadLetters} dead letters but ${handled} deserialization/processing drops counted`);

    // The good records, summed exactly: the totals store read back over HTTP.
    const { status, body } = await getJson(`${url}/stores/totals/range?limit=1000`);
    const got = new Map<string, number>(
      status === 200
        ? (body as { entries: Array<{ key: string; value: number }> }).entries.map((e) => [e.key, e.value])
        : [],
    );
    let lost = 0;
    let duplicated = 0;
    for (const [user, want] of totals) {
      const have = got.get(user) ?? 0;
      if (have < want) lost += want - have;
      if (have > want) duplicated += have - want;
    }
    if (lost + duplicated > 0) notes.push(`totals differ: ${JSON.stringify([...got]).slice(0, 300)}`);
    const stop = await worker.stop();
    if (stop.code !== 0) notes.push(`the worker's clean stop exited ${stop.signal ?? stop.code}`);
    notes.push(...processes.crashReports());
    return result(ctx, name, started, {
      guarantee: 'exactly_once',
      rounds: 1,
      recordsIn: records.length,
      lost,
      duplicated,
      crashes: processes.crashes,
      malformed: MALFORMED,
      malformedAccounted,
      notes,
      passed:
        processes.crashes === 0 &&
        lost + duplicated === 0 &&
        malformedAccounted === MALFORMED &&
        notes.length === 0,
    });
  } finally {
    await processes.killAll();
    await kafka.close();
  }
}

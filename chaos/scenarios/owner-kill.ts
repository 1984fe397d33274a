/**
 * Scenario 7: two word-count workers (exactly_once) over a fixed input; queries for keys that worker B
 * owns go to worker A (which forwards them) while B is SIGKILLed and later restarted. Every answer is
 * either the correct merged value (200) or a clear 503 refusal (JSON message, Retry-After): never a
 * wrong value, never another status.
 */
import {
  Worker,
  getJson,
  random,
  result,
  sleep,
  wordCountRun,
  type ChaosContext,
  type ScenarioResult,
} from '../lib/harness.ts';

const SIZES = {
  reduced: { rounds: 1, sentences: 10_000 },
  full: { rounds: 5, sentences: 50_000 },
};

export async function ownerKill(ctx: ChaosContext): Promise<ScenarioResult> {
  const started = Date.now();
  const name = 'owner-kill';
  const { rounds, sentences: total } = SIZES[ctx.size];
  const rnd = random(ctx.seed ^ 0x07);
  const run = await wordCountRun(ctx, name, 'exactly_once', total);
  const statusCodes: Record<string, number> = {};
  const notes: string[] = [];
  let wrong = 0;
  let asked = 0;
  try {
    await run.sentences.produceRest(run.kafka);
    const first = run.processes.add(new Worker(run.spec(0)));
    const second = run.processes.add(new Worker(run.spec(1)));
    const urls = await Promise.all([first.url, second.url]);
    const expected = run.sentences.expected();
    await run.counts.settle(expected, 300_000, 1_000);
    // Both workers hold tasks (B may have joined after A had read everything).
    for (const url of urls) {
      for (let i = 0; ; i++) {
        const { status, body } = await getJson(`${url}/health`);
        if (status === 200 && ((body as { tasks?: string[] }).tasks?.length ?? 0) > 0) break;
        if (i > 120) throw new Error(`${url} holds no task after 2 minutes`);
        await sleep(1_000);
      }
    }
    // B: the worker that owns some of the words, as worker 0's metadata route says (the count
    // store's tasks may all sit on one of the two); A, the one asked, is the other.
    const owners = new Map<string, string[]>();
    for (const word of [...expected.keys()].slice(0, 400)) {
      const { status, body } = await getJson(
        `${urls[0]}/metadata/stores/word-counts/keys/${encodeURIComponent(word)}`,
      );
      const active = (body as { activeHost: { host: string; port: number } | null }).activeHost;
      if (status !== 200 || !active) continue;
      const host = `${active.host}:${active.port}`;
      owners.set(host, [...(owners.get(host) ?? []), word]);
    }
    const bIndex = owners.has(new URL(urls[1]!).host) ? 1 : 0;
    const a = bIndex === 1 ? first : second;
    let b = bIndex === 1 ? second : first;
    const urlA = urls[1 - bIndex]!;
    const ownedByB = (owners.get(new URL(urls[bIndex]!).host) ?? []).slice(0, 40);
    if (ownedByB.length === 0)
      throw new Error(`no worker owns any of the first 400 words: ${JSON.stringify([...owners.keys()])}`);

    let querying = true;
    const ask = async (): Promise<void> => {
      while (querying) {
        const word = ownedByB[rnd.between(0, ownedByB.length)]!;
        let status: number;
        let body: unknown;
        let retryAfter: string | null = null;
        try {
          ({ status, body } = await getJson(
            `${urlA}/stores/word-counts/keys/${encodeURIComponent(word)}`,
            30_000,
          ).then((r) => {
            retryAfter = r.headers.get('retry-after');
            return r;
          }));
        } catch (error) {
          status = 0;
          body = (error as Error).message;
        }
        asked++;
        statusCodes[String(status)] = (statusCodes[String(status)] ?? 0) + 1;
        if (status === 200) {
          const value = (body as { value: number | null }).value;
          if (value !== expected.get(word)) {
            wrong++;
            if (notes.length < 10) notes.push(`${word}: answered ${value}, expected ${expected.get(word)}`);
          }
        } else if (status === 503) {
          const message = (body as { message?: unknown }).message;
          if (typeof message !== 'string' || retryAfter === null) {
            wrong++;
            if (notes.length < 10)
              notes.push(`${word}: a 503 without a message or Retry-After: ${JSON.stringify(body)}`);
          }
        } else if (notes.length < 10) {
          notes.push(`${word}: HTTP ${status} ${JSON.stringify(body).slice(0, 300)}`);
        }
      }
    };
    const askers = Array.from({ length: 4 }, () => ask());
    let round = 0;
    try {
      for (; round < rounds; round++) {
        await sleep(rnd.between(1_000, 3_000));
        await b.kill();
        ctx.log(
          `${name}: round ${round + 1}/${rounds}: SIGKILLed the owner while ${asked} queries were answered`,
        );
        // A takes B's tasks over after the session timeout (10 s) and restores them; then B comes back.
        await sleep(rnd.between(12_000, 20_000));
        b = run.processes.add(b.restart());
        await b.running();
        await sleep(5_000);
        if (a.exit) break;
      }
    } finally {
      querying = false;
      await Promise.all(askers);
    }
    // The owner is back: every key answers its value again (forwarded to the new owner).
    const newHostB = new URL(await b.url).host;
    for (const word of ownedByB) {
      for (let i = 0; ; i++) {
        const { status, body } = await getJson(`${urlA}/stores/word-counts/keys/${encodeURIComponent(word)}`);
        if (status === 200 && (body as { value: number }).value === expected.get(word)) break;
        if (i > 60) {
          notes.push(
            `${word}: after the restart still ${status} ${JSON.stringify(body).slice(0, 200)} (B now ${newHostB})`,
          );
          break;
        }
        await sleep(1_000);
      }
    }
    const check = await run.finish(60_000);
    notes.push(...check.notes);
    const others = Object.keys(statusCodes).filter((s) => s !== '200' && s !== '503');
    return result(ctx, name, started, {
      guarantee: 'exactly_once',
      rounds: round,
      recordsIn: run.sentences.produced,
      lost: check.lost,
      duplicated: check.duplicated,
      crashes: run.processes.crashes,
      statusCodes,
      wrongAnswers: wrong,
      notes,
      ...(wrong > 0 || others.length > 0 || check.lost + check.duplicated > 0 || run.processes.crashes > 0
        ? { passed: false }
        : {}),
    });
  } finally {
    await run.close();
  }
}

/**
 * `lambda-streams reset <topology-file>`: Kafka Streams' application reset tool
 * (kafka-streams-application-reset) for one topology file. With every worker of the application
 * stopped, it moves the group's committed offsets on the input topics (to the earliest offsets by
 * default, to a time, or to given offsets), deletes the application's internal topics (repartition
 * topics and changelogs, so no old state is restored) and wipes this machine's local state for the
 * application id. The next run then reprocesses the input from there. `--dry-run` prints the plan.
 * Published batch views (`<applicationId>-batch-views`) are left alone.
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';

export interface ResetOptions {
  brokers?: string;
  applicationId?: string;
  stateDir?: string;
  toEarliest?: boolean;
  toLatest?: boolean;
  toDatetime?: string;
  /** One offset for every input partition. */
  toOffset?: number;
  dryRun?: boolean;
  json?: boolean;
}

export interface ResetPlan {
  applicationId: string;
  dryRun: boolean;
  /** The group's new committed offsets per input partition (`from`: the committed offset before, -1 none). */
  offsets: Array<{ topic: string; partition: number; from: number; to: number }>;
  /** Internal topics deleted (or to delete). */
  internalTopics: string[];
  /** Local state directory wiped (or to wipe), if it existed. */
  stateDir: string | undefined;
}

function parseOffset(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`not a non-negative integer: ${value}`);
  return n;
}

/** Resets the application of a topology file; refuses while the group has active members. */
export async function runReset(file: string, options: ResetOptions): Promise<ResetPlan> {
  const [{ loadTopologyFile }, { resolveBrokers }, { defaultKafkaClientFactory }, fs, path] =
    await Promise.all([
      import('./load-topology.ts'),
      import('./worker-command.ts'),
      import('../kafka/factory.ts'),
      import('node:fs/promises'),
      import('node:path'),
    ]);
  const targets = [options.toEarliest, options.toLatest, options.toDatetime, options.toOffset].filter(
    (t) => t !== undefined && t !== false,
  );
  if (targets.length > 1)
    throw new Error('give at most one of --to-earliest, --to-latest, --to-datetime, --to-offset');
  let timestamp: number | undefined;
  if (options.toDatetime !== undefined) {
    timestamp = Date.parse(options.toDatetime);
    if (Number.isNaN(timestamp))
      throw new Error(`--to-datetime: not an ISO 8601 date-time: ${options.toDatetime}`);
  }
  const { definition, topology, config } = await loadTopologyFile(file);
  const applicationId = options.applicationId ?? definition.applicationId;
  const stateRoot =
    options.stateDir ?? config.stateDir ?? process.env.LAMBDA_STREAMS_STATE_DIR ?? '.lambda-streams/state';
  const broker = await resolveBrokers(options.brokers ?? config.bootstrapServers?.join(','));
  const client = defaultKafkaClientFactory({ brokers: broker.brokers, clientId: `${applicationId}-reset` });
  const admin = await client.admin();
  try {
    // Kafka Streams' tool refuses too: a running member would commit its old positions over ours.
    const members = await admin.groupAssignments(applicationId);
    if (members.length > 0)
      throw new Error(
        `group '${applicationId}' has ${members.length} active member(s) (${members.map((m) => m.clientId).join(', ')}): stop every worker of the application first`,
      );
    const existing = await admin.listTopics();
    const prefix = `${applicationId}-`;
    const internal = new Set(topology.internalTopics().map((t) => `${prefix}${t.name}`));
    for (const t of existing)
      if (t.startsWith(prefix) && (t.endsWith('-changelog') || t.endsWith('-repartition'))) internal.add(t);
    const inputs = new Set<string>();
    for (const sub of topology.subTopologies()) {
      if (sub.global) continue; // global tables are read in full, never through the group
      for (const t of sub.sourceTopics) if (!topology.isInternalTopic(t)) inputs.add(t);
      for (const pattern of sub.sourcePatterns)
        for (const t of existing) if (!t.startsWith(prefix) && pattern.test(t)) inputs.add(t);
    }
    const present = [...inputs].filter((t) => existing.includes(t)).sort();
    const missing = [...inputs].filter((t) => !existing.includes(t));
    if (missing.length > 0) throw new Error(`input topic(s) ${missing.join(', ')} do not exist`);
    const committed = new Map(
      (await admin.committedOffsets(applicationId, present)).map((c) => [
        `${c.topic}:${c.partition}`,
        c.offset,
      ]),
    );
    const offsets: ResetPlan['offsets'] = [];
    for (const topic of present) {
      const ends = await admin.endOffsets(topic);
      const byTime =
        timestamp === undefined
          ? undefined
          : new Map((await admin.offsetsForTime(topic, timestamp)).map((o) => [o.partition, o.offset]));
      for (const end of ends) {
        let to = end.low;
        if (options.toLatest) to = end.high;
        else if (byTime) to = byTime.get(end.partition) ?? end.high;
        else if (options.toOffset !== undefined) to = Math.min(Math.max(options.toOffset, end.low), end.high);
        offsets.push({
          topic,
          partition: end.partition,
          from: committed.get(`${topic}:${end.partition}`) ?? -1,
          to,
        });
      }
    }
    const localState = path.resolve(stateRoot, applicationId);
    const hasState = await fs.stat(localState).then(
      () => true,
      () => false,
    );
    const plan: ResetPlan = {
      applicationId,
      dryRun: options.dryRun === true,
      offsets,
      internalTopics: [...internal].filter((t) => existing.includes(t)).sort(),
      stateDir: hasState ? localState : undefined,
    };
    if (!options.dryRun) {
      await admin.setCommittedOffsets(
        applicationId,
        offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.to })),
      );
      await admin.deleteTopics(plan.internalTopics);
      if (hasState) await fs.rm(localState, { recursive: true, force: true });
    }
    return plan;
  } finally {
    await admin.close().catch(() => {});
    await broker.stop();
  }
}

/** The plan as a person reads it. */
export function formatResetPlan(plan: ResetPlan): string {
  const will = plan.dryRun ? 'would ' : '';
  const lines = [
    `${plan.dryRun ? 'dry run: ' : ''}reset of application ${plan.applicationId}`,
    `input offsets (group ${plan.applicationId}) ${plan.dryRun ? 'would be' : 'now'}:`,
    ...(plan.offsets.length > 0
      ? plan.offsets.map(
          (o) => `  ${o.topic}[${o.partition}] ${o.from < 0 ? '(none committed)' : o.from} -> ${o.to}`,
        )
      : ['  (no input topics)']),
    plan.internalTopics.length > 0
      ? `internal topics ${will}deleted: ${plan.internalTopics.join(', ')}`
      : 'internal topics: none exist',
    plan.stateDir ? `local state ${will}wiped: ${plan.stateDir}` : 'local state: none on this machine',
  ];
  return `${lines.join('\n')}\n`;
}

export function registerResetCommand(program: Command): void {
  program
    .command('reset')
    .description(
      "reset an application for reprocessing (Kafka Streams' application reset tool): input offsets, internal topics, local state; stop its workers first",
    )
    .argument('<topology-file>', 'a file in topologies/ that exports default defineTopology({...})')
    .option(
      '--brokers <list>',
      'bootstrap brokers host:port,... (default: KAFKA_BROKERS, else the local broker)',
    )
    .option('--application-id <id>', "override the topology file's application id")
    .option(
      '--state-dir <dir>',
      "local state directory to wipe the application's state in (default: the file's config, else LAMBDA_STREAMS_STATE_DIR, else .lambda-streams/state)",
    )
    .option('--to-earliest', 'move the input offsets to the earliest offsets (the default)')
    .option('--to-latest', 'move the input offsets to the end (skip the existing input)')
    .option(
      '--to-datetime <iso>',
      'move the input offsets to the first record at or after this time (ISO 8601)',
    )
    .option(
      '--to-offset <offset>',
      'move every input partition to this offset (clamped to what the partition has)',
      parseOffset,
    )
    .option('--dry-run', 'print what would be done, change nothing')
    .option('--json', 'print the plan as JSON')
    .action(async (file: string, opts: ResetOptions) => {
      if (!opts.brokers && process.env.KAFKA_BROKERS) opts.brokers = process.env.KAFKA_BROKERS;
      const plan = await runReset(file, opts);
      process.stdout.write(opts.json ? `${JSON.stringify(plan, null, 2)}\n` : formatResetPlan(plan));
    });
}

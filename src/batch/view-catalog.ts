/**
 * The published views of an application: read from `<applicationId>-batch-views` (one manifest
 * record per complete view, keyed by view id; a tombstone retires it), written last by a run, and
 * cleaned of data that no manifest names (runs that failed or were killed).
 */
import type { Logger } from 'pino';

import type { KafkaAdmin, KafkaClient, KafkaProducer } from '../kafka/client.ts';
import {
  compareViewsNewestFirst,
  decodeManifest,
  encodeManifest,
  manifestTopic,
  runIdOfTopic,
  viewDataTopicPrefix,
  viewIdOfDataTopic,
  type ViewManifest,
} from './view-manifest.ts';

/** Topic configs of data that is written once and read by every worker later: never expires. */
export const VIEW_TOPIC_CONFIG: Record<string, string> = { 'cleanup.policy': 'delete', 'retention.ms': '-1' };

export async function ensureManifestTopic(admin: KafkaAdmin, applicationId: string): Promise<void> {
  await admin.createTopics([
    { name: manifestTopic(applicationId), partitions: 1, config: { 'cleanup.policy': 'compact' } },
  ]);
}

/** The complete views, newest first (larger boundary, then later creation). */
export async function readViews(
  client: KafkaClient,
  admin: KafkaAdmin,
  applicationId: string,
  log?: Logger,
): Promise<ViewManifest[]> {
  const topic = manifestTopic(applicationId);
  if ((await admin.partitionCounts([topic])).size === 0) return [];
  const ends = await admin.endOffsets(topic);
  const latest = new Map<string, ViewManifest | null>();
  await client.fetchRanges(
    ends.map((e) => ({ topic, partition: e.partition, fromOffset: e.low, toOffset: e.high })),
    {
      isolationLevel: 'read_committed',
      onBatch: (records) => {
        for (const r of records) {
          const id = r.key?.toString('utf8');
          if (!id) continue;
          if (r.value === null) {
            latest.set(id, null);
            continue;
          }
          try {
            latest.set(id, decodeManifest(r.value));
          } catch (error) {
            log?.warn(
              { topic, partition: r.partition, offset: r.offset },
              `ignoring the record at ${topic}[${r.partition}]@${r.offset}: ${(error as Error).message}`,
            );
          }
        }
      },
    },
  );
  return [...latest.values()].filter((m): m is ViewManifest => m !== null).sort(compareViewsNewestFirst);
}

/** Makes a view visible: its data must be written before. */
export async function publishManifest(producer: KafkaProducer, manifest: ViewManifest): Promise<void> {
  await producer.send([
    {
      topic: manifestTopic(manifest.applicationId),
      partition: 0,
      key: Buffer.from(manifest.viewId),
      value: encodeManifest(manifest),
      timestamp: Date.parse(manifest.completedAt),
    },
  ]);
}

/**
 * Retires every view but the newest `keep`: the manifest is tombstoned first (no worker loads the
 * view from then on), then its data topics are deleted. Returns the retired view ids.
 */
export async function retireViews(
  admin: KafkaAdmin,
  producer: KafkaProducer,
  views: ViewManifest[],
  keep: number,
  log: Logger,
): Promise<string[]> {
  const retired = [...views].sort(compareViewsNewestFirst).slice(Math.max(0, keep));
  if (retired.length === 0) return [];
  await producer.send(
    retired.map((v) => ({
      topic: manifestTopic(v.applicationId),
      partition: 0,
      key: Buffer.from(v.viewId),
      value: null,
      timestamp: Date.now(),
    })),
  );
  const topics = retired.flatMap((v) => Object.values(v.stores).map((s) => s.topic));
  const existing = new Set(await admin.listTopics());
  await admin.deleteTopics(topics.filter((t) => existing.has(t)));
  for (const v of retired)
    log.info({ viewId: v.viewId }, `retired view ${v.viewId} (boundary ${v.boundaryTime})`);
  return retired.map((v) => v.viewId);
}

/**
 * Deletes data topics of views no manifest names and the topics of finished or abandoned runs,
 * except those of `activeRunIds` (runs going on now). A batch run calls it before it starts, so the
 * leftovers of a run that failed or was killed disappear with the next one.
 */
export async function removeLeftovers(
  admin: KafkaAdmin,
  applicationId: string,
  views: ViewManifest[],
  activeRunIds: string[],
  log: Logger,
): Promise<string[]> {
  const published = new Set(views.map((v) => v.viewId));
  const active = new Set(activeRunIds);
  const leftovers = (await admin.listTopics()).filter((topic) => {
    const viewId = viewIdOfDataTopic(applicationId, topic);
    if (viewId !== undefined) return !published.has(viewId) && !active.has(viewId);
    const runId = runIdOfTopic(applicationId, topic);
    return runId !== undefined && !active.has(runId);
  });
  if (leftovers.length === 0) return [];
  await admin.deleteTopics(leftovers);
  log.info({ topics: leftovers }, `removed ${leftovers.length} topic(s) left by unfinished batch runs`);
  return leftovers;
}

/** Data topics of one view (for the cleanup of a run that fails cleanly). */
export async function viewTopics(
  admin: KafkaAdmin,
  applicationId: string,
  viewId: string,
): Promise<string[]> {
  const prefix = viewDataTopicPrefix(applicationId, viewId);
  return (await admin.listTopics()).filter((t) => t.startsWith(prefix));
}

/**
 * Task-based partition assignment (Kafka Streams' StreamsPartitionAssignor, reduced to what one
 * consumer group of equal workers needs): a task is one partition number of one sub-topology, and
 * all source-topic partitions of a task go to the same member (co-partitioning). The assignment is
 * balanced by task count and sticky: a task stays with the member that reports it in its subscription
 * userData whenever balance allows; a task whose owner left goes preferably to a member that kept a
 * standby replica of it (warm state, only the changelog tail to restore). With `numStandbyReplicas`
 * > 0 each task also gets that many standby replicas on other members (never the active's member),
 * sticky and balanced by standby count. Every member's assignment userData carries its standbys and
 * the endpoint → tasks map of the whole group, so each worker knows which host serves which task.
 */
import type { AssignorMember, AssignorResult, GroupAssignor } from '../kafka/client.ts';

export const ASSIGNOR_NAME = 'lambda-streams-task-assignor';

/** Subscription userData: what a member had and where it serves queries. */
export interface SubscriptionInfo {
  version: 1;
  /** Tasks the member owned before this rebalance. */
  tasks: string[];
  /** Tasks the member kept standby replicas of before this rebalance. */
  standbys?: string[];
  /** host:port of the member's serving layer, if any. */
  endpoint?: string;
}

/** Assignment userData: the tasks of this member and the task map of the group. */
export interface AssignmentInfo {
  version: 1;
  tasks: string[];
  /** Standby replicas this member keeps (tasks active elsewhere). */
  standbys?: string[];
  /** endpoint → task ids, for every member with an endpoint. */
  hosts: Record<string, string[]>;
  /** endpoint → task ids it keeps standby replicas of (stale reads, failover). */
  standbyHosts?: Record<string, string[]>;
}

export interface TaskSpec {
  /** Sub-topology id. */
  subtopology: number;
  /** Full source topic names (internal ones with the application-id prefix). */
  topics: string[];
}

export function encodeInfo(info: SubscriptionInfo | AssignmentInfo): Buffer {
  return Buffer.from(JSON.stringify(info));
}

export function decodeSubscription(data: Buffer): SubscriptionInfo {
  try {
    const parsed = JSON.parse(data.toString('utf8')) as Partial<SubscriptionInfo>;
    return {
      version: 1,
      tasks: Array.isArray(parsed.tasks) ? parsed.tasks : [],
      ...(Array.isArray(parsed.standbys) ? { standbys: parsed.standbys } : {}),
      ...(parsed.endpoint ? { endpoint: parsed.endpoint } : {}),
    };
  } catch {
    return { version: 1, tasks: [] };
  }
}

export function decodeAssignment(data: Buffer): AssignmentInfo | undefined {
  if (data.length === 0) return undefined;
  try {
    const parsed = JSON.parse(data.toString('utf8')) as AssignmentInfo;
    return parsed && Array.isArray(parsed.tasks) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function taskId(subtopology: number, partition: number): string {
  return `${subtopology}_${partition}`;
}

export function parseTaskId(id: string): { subtopology: number; partition: number } {
  const [s, p] = id.split('_');
  return { subtopology: Number(s), partition: Number(p) };
}

/** All tasks of the topology: per sub-topology, one per partition of its (co-partitioned) sources. */
export function allTasks(
  specs: TaskSpec[],
  partitionCounts: Map<string, number>,
): Map<string, Record<string, number[]>> {
  const tasks = new Map<string, Record<string, number[]>>();
  for (const spec of specs) {
    const count = Math.max(0, ...spec.topics.map((t) => partitionCounts.get(t) ?? 0));
    for (let p = 0; p < count; p++) {
      const assignment: Record<string, number[]> = {};
      for (const topic of spec.topics) {
        if (p < (partitionCounts.get(topic) ?? 0)) assignment[topic] = [p];
      }
      tasks.set(taskId(spec.subtopology, p), assignment);
    }
  }
  return tasks;
}

/**
 * Balanced, sticky assignment of task ids to member ids. Deterministic for the same input.
 * Exported for unit tests.
 */
export function assignTasks(
  taskIds: string[],
  members: Array<{ memberId: string; previous: string[]; standbys?: string[] }>,
): Map<string, string[]> {
  const sortedMembers = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId));
  const result = new Map<string, string[]>(sortedMembers.map((m) => [m.memberId, []]));
  if (sortedMembers.length === 0) return result;
  const tasks = [...taskIds].sort(compareTaskIds);
  const capacity = Math.ceil(tasks.length / sortedMembers.length);
  const previousOwner = new Map<string, string>();
  for (const m of sortedMembers)
    for (const t of m.previous) if (!previousOwner.has(t)) previousOwner.set(t, m.memberId);
  // A task without a live previous owner goes to a member with a standby replica of it.
  const standbyHolders = new Map<string, string[]>();
  for (const m of sortedMembers)
    for (const t of m.standbys ?? []) standbyHolders.set(t, [...(standbyHolders.get(t) ?? []), m.memberId]);
  const unassigned: string[] = [];
  const orphans: string[] = [];
  for (const task of tasks) {
    const owner = previousOwner.get(task);
    const owned = owner !== undefined ? result.get(owner) : undefined;
    if (owned && owned.length < capacity) owned.push(task);
    else if (owner === undefined) orphans.push(task);
    else unassigned.push(task);
  }
  for (const task of orphans) {
    const holders = (standbyHolders.get(task) ?? [])
      .map((id) => result.get(id)!)
      .filter((owned) => owned.length < capacity)
      .sort((a, b) => a.length - b.length);
    if (holders.length > 0) holders[0]!.push(task);
    else unassigned.push(task);
  }
  const leastLoaded = (): string[] => {
    let best: string[] | undefined;
    for (const owned of result.values()) if (!best || owned.length < best.length) best = owned;
    return best!;
  };
  for (const task of unassigned) leastLoaded().push(task);
  // Stickiness may leave max - min > 1 (e.g. 2,2,0): move tasks from the most to the least loaded.
  for (;;) {
    let max: string[] | undefined;
    let min: string[] | undefined;
    for (const owned of result.values()) {
      if (!max || owned.length > max.length) max = owned;
      if (!min || owned.length < min.length) min = owned;
    }
    if (!max || !min || max.length - min.length <= 1) break;
    min.push(max.pop()!);
  }
  for (const owned of result.values()) owned.sort(compareTaskIds);
  return result;
}

/**
 * Standby replicas: for each task, `replicas` members other than its active owner (fewer when the
 * group is smaller), preferring members that already hold its state, then the least loaded.
 * Deterministic. Exported for unit tests.
 */
export function assignStandbys(
  active: Map<string, string[]>,
  members: Array<{ memberId: string; previous: string[]; standbys?: string[] }>,
  replicas: number,
): Map<string, string[]> {
  const result = new Map<string, string[]>([...active.keys()].sort().map((id) => [id, []]));
  if (replicas <= 0) return result;
  const ownerOf = new Map<string, string>();
  for (const [memberId, tasks] of active) for (const t of tasks) ownerOf.set(t, memberId);
  const hadState = new Map<string, Set<string>>();
  for (const m of members) hadState.set(m.memberId, new Set([...m.previous, ...(m.standbys ?? [])]));
  for (const task of [...ownerOf.keys()].sort(compareTaskIds)) {
    const candidates = [...result.keys()].filter((id) => id !== ownerOf.get(task));
    candidates.sort((a, b) => {
      const warmA = hadState.get(a)?.has(task) ? 0 : 1;
      const warmB = hadState.get(b)?.has(task) ? 0 : 1;
      return warmA - warmB || result.get(a)!.length - result.get(b)!.length || a.localeCompare(b);
    });
    for (const id of candidates.slice(0, replicas)) result.get(id)!.push(task);
  }
  for (const owned of result.values()) owned.sort(compareTaskIds);
  return result;
}

function compareTaskIds(a: string, b: string): number {
  const x = parseTaskId(a);
  const y = parseTaskId(b);
  return x.subtopology - y.subtopology || x.partition - y.partition;
}

/** The GroupAssignor the runtime plugs into its consumer. */
export class TaskAssignor implements GroupAssignor {
  readonly name = ASSIGNOR_NAME;
  readonly version = 1;

  constructor(
    private readonly specs: TaskSpec[],
    private readonly member: () => SubscriptionInfo,
    private readonly numStandbyReplicas = 0,
  ) {}

  subscriptionUserData(): Buffer {
    return encodeInfo(this.member());
  }

  assign(input: {
    members: AssignorMember[];
    partitionCounts: Map<string, number>;
  }): Map<string, AssignorResult> {
    const tasks = allTasks(this.specs, input.partitionCounts);
    const infos = new Map(input.members.map((m) => [m.memberId, decodeSubscription(m.userData)]));
    const members = input.members.map((m) => ({
      memberId: m.memberId,
      previous: infos.get(m.memberId)!.tasks,
      standbys: infos.get(m.memberId)!.standbys ?? [],
    }));
    const byMember = assignTasks([...tasks.keys()], members);
    const standbys = assignStandbys(byMember, members, this.numStandbyReplicas);
    const hosts: Record<string, string[]> = {};
    const standbyHosts: Record<string, string[]> = {};
    for (const [memberId, owned] of byMember) {
      const endpoint = infos.get(memberId)?.endpoint;
      if (!endpoint) continue;
      hosts[endpoint] = [...(hosts[endpoint] ?? []), ...owned];
      const kept = standbys.get(memberId) ?? [];
      if (kept.length > 0) standbyHosts[endpoint] = [...(standbyHosts[endpoint] ?? []), ...kept];
    }
    const result = new Map<string, AssignorResult>();
    for (const [memberId, owned] of byMember) {
      const assignment: Record<string, number[]> = {};
      for (const id of owned) {
        for (const [topic, partitions] of Object.entries(tasks.get(id)!)) {
          (assignment[topic] ??= []).push(...partitions);
        }
      }
      for (const partitions of Object.values(assignment)) partitions.sort((a, b) => a - b);
      result.set(memberId, {
        assignment,
        userData: encodeInfo({
          version: 1,
          tasks: owned,
          standbys: standbys.get(memberId) ?? [],
          hosts,
          standbyHosts,
        }),
      });
    }
    return result;
  }
}

import type { Processor, ProcessorContext } from '../../processor/api.ts';
import type { Record } from '../../processor/record.ts';
import type { InternalProcessorContext } from '../../processor/internals/task.ts';
import type { Serde } from '../../serde/serde.ts';
import type { KeyValueStore, WindowStore } from '../../state/types.ts';
import { readInt64BE, writeInt64BE } from '../../state/key-encoding.ts';
import { logger } from '../../logger.ts';

/**
 * Stream time and the smallest timestamp in the outer-join store, shared by both join processors of
 * one task (Kafka Streams' KStreamImplJoin.TimeTracker). `minTime` is Infinity when nothing may be
 * pending (Kafka's Long.MAX_VALUE, whose overflow there makes the next check scan the store).
 */
export interface JoinTimeTracker {
  streamTime: number;
  minTime: number;
}

interface TrackerSlot {
  tracker: JoinTimeTracker;
  left: object | undefined;
  right: object | undefined;
}

/**
 * Hands both join processors of one task the same tracker. Keyed by application and task id; a
 * processor that finds its side's slot taken (another driver or instance running the same topology
 * object) gets a fresh pair, so trackers never leak between concurrent tasks with the same id.
 */
export class JoinTimeTrackers {
  private readonly slots = new Map<string, TrackerSlot[]>();

  acquire(context: ProcessorContext<any, any>, side: 'left' | 'right', owner: object): JoinTimeTracker {
    const id = `${context.applicationId}/${context.taskId}`;
    let list = this.slots.get(id);
    if (!list) this.slots.set(id, (list = []));
    let slot = list.find((s) => s[side] === undefined);
    if (!slot) {
      slot = { tracker: { streamTime: -1, minTime: Infinity }, left: undefined, right: undefined };
      list.push(slot);
    }
    slot[side] = owner;
    return slot.tracker;
  }

  release(context: ProcessorContext<any, any>, side: 'left' | 'right', owner: object): void {
    const id = `${context.applicationId}/${context.taskId}`;
    const list = this.slots.get(id);
    if (!list) return;
    const at = list.findIndex((s) => s[side] === owner);
    if (at < 0) return;
    list[at]![side] = undefined;
    if (list[at]!.left === undefined && list[at]!.right === undefined) list.splice(at, 1);
    if (list.length === 0) this.slots.delete(id);
  }
}

/** Key of the outer-join store (Kafka Streams' TimestampedKeyAndJoinSide). */
export interface TimestampedKeyAndJoinSide<K> {
  timestamp: number;
  leftSide: boolean;
  key: K;
}

/** A pending unmatched value of one side (Kafka Streams' LeftOrRightValue). */
export interface LeftOrRightValue<VL, VR> {
  leftSide: boolean;
  value: VL | VR;
}

/**
 * Serializes outer-join store keys as Kafka Streams does: timestamp (8 B big-endian two's complement),
 * side (1 = left, 0 = right), key bytes. The bytes store orders them by time, right before left,
 * then key: the order in which unmatched records are emitted.
 */
export function timestampedKeyAndJoinSideSerde<K>(keySerde: Serde<K>): Serde<TimestampedKeyAndJoinSide<K>> {
  return {
    name: `TimestampedKeyAndJoinSide(${keySerde.name ?? 'custom'})`,
    serialize(data) {
      const key = keySerde.serialize(data.key);
      const out = Buffer.allocUnsafe(9 + key.length);
      writeInt64BE(out, data.timestamp, 0);
      out[8] = data.leftSide ? 1 : 0;
      key.copy(out, 9);
      return out;
    },
    deserialize(bytes) {
      return {
        timestamp: readInt64BE(bytes, 0),
        leftSide: bytes[8] === 1,
        key: keySerde.deserialize(Buffer.from(bytes.subarray(9))),
      };
    },
  };
}

/**
 * Values of the outer-join store: every unmatched record of one (timestamp, side, key), in arrival
 * order (Kafka Streams' ListValueStore of LeftOrRightValue). Layout: per entry side (1 B), length
 * (4 B), value bytes.
 */
export function leftOrRightValueListSerde<VL, VR>(
  leftSerde: Serde<VL>,
  rightSerde: Serde<VR>,
): Serde<Array<LeftOrRightValue<VL, VR>>> {
  return {
    name: 'LeftOrRightValueList',
    serialize(list) {
      const parts: Buffer[] = [];
      for (const entry of list) {
        const bytes = entry.leftSide
          ? leftSerde.serialize(entry.value as VL)
          : rightSerde.serialize(entry.value as VR);
        const head = Buffer.allocUnsafe(5);
        head[0] = entry.leftSide ? 1 : 0;
        head.writeUInt32BE(bytes.length, 1);
        parts.push(head, bytes);
      }
      return Buffer.concat(parts);
    },
    deserialize(bytes) {
      const list: Array<LeftOrRightValue<VL, VR>> = [];
      let at = 0;
      while (at < bytes.length) {
        const leftSide = bytes[at] === 1;
        const length = bytes.readUInt32BE(at + 1);
        const raw = Buffer.from(bytes.subarray(at + 5, at + 5 + length));
        at += 5 + length;
        list.push({ leftSide, value: leftSide ? leftSerde.deserialize(raw) : rightSerde.deserialize(raw) });
      }
      return list;
    },
  };
}

/**
 * Puts every record into its side's window store after forwarding it to the join processor (Kafka
 * Streams' KStreamJoinWindow): the join sees the other side's buffer without the record itself.
 */
export function joinWindowProcessor<K, V>(storeName: string): () => Processor<K, V, K, V> {
  return () => {
    let context: ProcessorContext<K, V>;
    let store: WindowStore<K, V>;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore(storeName);
      },
      process(record: Record<K, V>) {
        context.forward(record);
        if (record.key !== null && record.key !== undefined) {
          store.put(record.key, record.value ?? null, record.timestamp);
        }
      },
    };
  };
}

export interface StreamStreamJoinSideOptions<K, VL, VR, VOut> {
  /** This processor handles the left stream (else the right one). */
  leftSide: boolean;
  /** The other side's window store. */
  otherStoreName: string;
  /** Shared store of unmatched records (left and outer joins only). */
  outerStoreName: string | undefined;
  /** This side's unmatched records are emitted with a null partner. */
  outer: boolean;
  /** JoinWindows before/after as seen from the left side, and grace. */
  beforeMs: number;
  afterMs: number;
  graceMs: number;
  /** The user's joiner: (leftValue, rightValue, key). */
  joiner: (left: VL | null, right: VR | null, key: K) => VOut;
  trackers: JoinTimeTrackers;
}

/**
 * One side of a windowed stream-stream join (Kafka Streams' KStreamKStreamJoin with KIP-633's
 * spurious-result fix): each record joins the other side's buffered records with timestamps in
 * [ts - before, ts + after] (mirrored for the right side); the result carries the larger timestamp.
 * Unmatched records of an outer side wait in the shared outer-join store and are emitted with a null
 * partner once stream time passes their window end plus grace, or at once when they arrive that late.
 * Emission is not throttled by wall-clock time (Kafka Streams' TopologyTestDriver behaviour).
 */
export function streamStreamJoinProcessor<K, VL, VR, VOut>(
  options: StreamStreamJoinSideOptions<K, VL, VR, VOut>,
): () => Processor<K, VL | VR, K, VOut> {
  const { leftSide, outer, joiner, graceMs } = options;
  // The window as seen from this side: the right side looks back by `after` and ahead by `before`.
  const joinBeforeMs = leftSide ? options.beforeMs : options.afterMs;
  const joinAfterMs = leftSide ? options.afterMs : options.beforeMs;
  const side = leftSide ? 'left' : 'right';
  const join = (key: K, thisValue: VL | VR | null, otherValue: VL | VR | null): VOut =>
    leftSide
      ? joiner(thisValue as VL | null, otherValue as VR | null, key)
      : joiner(otherValue as VL | null, thisValue as VR | null, key);

  return () => {
    let context: ProcessorContext<K, VOut>;
    let otherStore: WindowStore<K, VL | VR>;
    let outerStore: KeyValueStore<TimestampedKeyAndJoinSide<K>, Array<LeftOrRightValue<VL, VR>>> | undefined;
    let tracker: JoinTimeTracker;
    const self = {};

    const isOuterWindowOpen = (key: TimestampedKeyAndJoinSide<K>): boolean => {
      // Left records wait for right records up to `after` later; right records for left ones `before` later.
      const lookBack = key.leftSide ? options.afterMs : options.beforeMs;
      return tracker.minTime + lookBack + graceMs >= tracker.streamTime;
    };

    const emitNonJoinedOuterRecords = (
      store: KeyValueStore<TimestampedKeyAndJoinSide<K>, Array<LeftOrRightValue<VL, VR>>>,
      record: Record<K, VL | VR>,
    ): void => {
      if (tracker.minTime !== Infinity && tracker.minTime + joinAfterMs + graceMs >= tracker.streamTime)
        return;
      tracker.minTime = Infinity;
      const emitted: Array<TimestampedKeyAndJoinSide<K>> = [];
      let leftOpen = false;
      let rightOpen = false;
      // Values are visited one by one, as Kafka's ListValueStore iterator yields them: the tracker's
      // minTime ends at the value where the scan stops, which decides when the next scan happens.
      scan: for (const { key, value } of store.all()) {
        for (const entry of value) {
          tracker.minTime = key.timestamp;
          if (leftOpen && rightOpen) break scan;
          if (isOuterWindowOpen(key)) {
            if (key.leftSide) leftOpen = true;
            else rightOpen = true;
            continue;
          }
          const result = entry.leftSide
            ? joiner(entry.value as VL, null, key.key)
            : joiner(null, entry.value as VR, key.key);
          context.forward(record.withKey(key.key).withValue(result).withTimestamp(key.timestamp));
          if (emitted[emitted.length - 1] !== key) emitted.push(key);
        }
      }
      // Deleted after the scan (Kafka deletes each key once past it; nothing reads the store meanwhile).
      for (const key of emitted) store.put(key, null);
    };

    return {
      init(ctx) {
        context = ctx;
        otherStore = ctx.getStateStore(options.otherStoreName);
        if (options.outerStoreName !== undefined) {
          outerStore = ctx.getStateStore<
            KeyValueStore<TimestampedKeyAndJoinSide<K>, Array<LeftOrRightValue<VL, VR>>>
          >(options.outerStoreName);
        }
        tracker = options.trackers.acquire(ctx, side, self);
      },
      process(record: Record<K, VL | VR>) {
        const timestamp = record.timestamp;
        tracker.streamTime = Math.max(tracker.streamTime, timestamp);
        const nullKey = record.key === null || record.key === undefined;
        const nullValue = record.value === null || record.value === undefined;
        if (outer && nullKey && !nullValue) {
          context.forward(record.withValue(join(record.key, record.value, null)));
          return;
        }
        if (nullKey || nullValue) {
          const meta = context.recordMetadata();
          logger.debug(
            meta
              ? `Skipping record due to null key or value. topic=[${meta.topic}] partition=[${meta.partition}] offset=[${meta.offset}]`
              : 'Skipping record due to null key or value. Topic, partition, and offset not known.',
          );
          (context as unknown as InternalProcessorContext).recordDropped(nullKey ? 'null-key' : 'null-value');
          return;
        }
        if (outerStore !== undefined && timestamp === tracker.streamTime) {
          emitNonJoinedOuterRecords(outerStore, record);
        }
        const timeFrom = Math.max(0, timestamp - joinBeforeMs);
        const timeTo = Math.max(0, timestamp + joinAfterMs);
        let matched = false;
        for (const other of otherStore.fetchRange(record.key, timeFrom, timeTo)) {
          matched = true;
          if (outerStore !== undefined) {
            // Kafka's ListValueStore.putIfAbsent(otherKey, null): drops the other record's pending entry.
            const otherKey = { timestamp: other.windowStart, leftSide: !leftSide, key: record.key };
            if (outerStore.get(otherKey) !== undefined) outerStore.put(otherKey, null);
          }
          context.forward(
            record
              .withValue(join(record.key, record.value, other.value))
              .withTimestamp(Math.max(timestamp, other.windowStart)),
          );
        }
        if (outer && !matched) {
          if (outerStore === undefined || timeTo < tracker.streamTime) {
            context.forward(record.withValue(join(record.key, record.value, null)));
          } else {
            tracker.minTime = Math.min(tracker.minTime, timestamp);
            const thisKey = { timestamp, leftSide, key: record.key };
            const pending = outerStore.get(thisKey) ?? [];
            pending.push({ leftSide, value: record.value });
            outerStore.put(thisKey, pending);
          }
        }
      },
      close() {
        options.trackers.release(context, side, self);
      },
    };
  };
}

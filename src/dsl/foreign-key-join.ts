import { createHash } from 'node:crypto';
import type { Processor, ProcessorContext } from '../processor/api.ts';
import type { Record } from '../processor/record.ts';
import type { InternalProcessorContext } from '../processor/internals/task.ts';
import type { Serde } from '../serde/serde.ts';
import { Serdes } from '../serde/index.ts';
import { Stores } from '../state/index.ts';
import type { KeyValueStore } from '../state/types.ts';
import { logger } from '../logger.ts';
import { KTable } from './ktable.ts';
import { Materialized, Named } from './options.ts';
import type { Change } from './processors/change.ts';
import { tableSourceProcessor } from './processors/table.ts';
import { repartitionTopicConfig } from './grouped-base.ts';
import { storeValueGetter, type ValueGetter } from './value-getter.ts';

/** What a subscription asks the foreign side to do (Kafka Streams' SubscriptionWrapper.Instruction). */
enum Instruction {
  DELETE_KEY_NO_PROPAGATE = 0,
  DELETE_KEY_AND_PROPAGATE = 1,
  PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE = 2,
  PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE = 3,
}

/** Sent from the left table to the partition of its foreign key. */
interface Subscription<K> {
  /** Hash of the left value that caused it (null for a delete): stale responses are recognized by it. */
  hash: string | null;
  instruction: Instruction;
  primaryKey: K;
  /** Partition of the left record, where the response must go back to. */
  partition: number;
}

/** Sent back from the foreign side to the left table's partition. */
interface SubscriptionResponse<VO> {
  hash: string | null;
  foreignValue: VO | null;
  partition: number;
}

const hashOf = (bytes: Buffer): string => createHash('sha1').update(bytes).digest('base64');

/**
 * Table-table foreign-key join (Kafka Streams' KIP-213): each left row subscribes to the right row its
 * foreign key names; the right side answers on every change of that row; the left side joins an answer
 * only if it still matches the current left value (hash check), so results never go stale.
 */
export function foreignKeyJoin<K, V, KO, VO, VR>(
  left: KTable<K, V>,
  right: KTable<KO, VO, any>,
  kind: 'inner' | 'left',
  foreignKeyExtractor: (value: V) => KO,
  joiner: (leftValue: V, rightValue: VO | null, key: K) => VR,
  options: Named | Materialized<K, VR> | undefined,
): KTable<K, VR> {
  const builder = left.builder;
  const topology = builder.topology;
  const named = options instanceof Named ? options : undefined;
  const materialized = options instanceof Materialized ? options : undefined;
  const leftKeySerde: Serde<K> = left.keySerde ?? topology.defaultKeySerde;
  const leftValueSerde: Serde<V> = left.valueSerde ?? topology.defaultValueSerde;
  const foreignKeySerde: Serde<KO> = right.keySerde ?? topology.defaultKeySerde;
  const foreignValueSerde: Serde<VO> = right.valueSerde ?? topology.defaultValueSerde;

  // Both sides must be readable by key and send old values (a changed foreign key unsubscribes).
  left.enableSendingOldValues();
  right.enableSendingOldValues();
  const leftGetter = left.valueGetterSupplier();
  const rightGetter = right.valueGetterSupplier();

  const prefix = named?.name;
  const name = (generated: string, suffix: string): string =>
    prefix ? `${prefix}-${suffix}` : builder.newName(generated);
  const sendName = name('KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-', 'subscription-registration-processor');
  const registrationTopic = prefix
    ? `${prefix}-subscription-registration-topic`
    : `${builder.newName('KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-')}-topic`;
  const registrationSink = name('KTABLE-SINK-', 'subscription-registration-sink');
  const registrationSource = name('KSTREAM-SOURCE-', 'subscription-registration-source');
  const subscriptionStore = name('KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-', 'subscription-store');
  const receiveName = name('KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-', 'subscription-receive');
  const foreignName = name('KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-', 'foreign-join-subscription');
  const responseTopic = prefix
    ? `${prefix}-subscription-response-topic`
    : `${builder.newName('KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-')}-topic`;
  const responseSinkFromReceive = name('KTABLE-SINK-', 'subscription-response-sink');
  const responseSinkFromForeign = name('KTABLE-SINK-', 'foreign-response-sink');
  const responseSource = name('KSTREAM-SOURCE-', 'subscription-response-source');
  const resolverName = name('KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-RESOLVER-PROCESSOR-', 'result');
  const outputName = name('KTABLE-FK-JOIN-OUTPUT-', 'output');

  const subscriptionSerde = subscriptionSerdeOf(leftKeySerde);
  const responseSerde = responseSerdeOf(foreignValueSerde);
  const toOrigin = { partitioner: (_t: string, _k: unknown, v: SubscriptionResponse<VO>) => v.partition };

  topology.addInternalTopic({
    name: registrationTopic,
    kind: 'repartition',
    config: repartitionTopicConfig(),
  });
  topology.addInternalTopic({ name: responseTopic, kind: 'repartition', config: repartitionTopicConfig() });

  // Left side: subscribe (and unsubscribe) by foreign key.
  topology.addProcessor(
    sendName,
    subscriptionSendProcessor<K, V, KO>(kind, foreignKeyExtractor, foreignKeySerde, leftValueSerde),
    left.nodeName,
  );
  topology.addSink(
    registrationSink,
    registrationTopic,
    { keySerde: foreignKeySerde, valueSerde: subscriptionSerde },
    sendName,
  );

  // Foreign side: remember subscriptions; answer them now and on every change of the foreign row.
  topology.addSource(registrationSource, registrationTopic, {
    keySerde: foreignKeySerde,
    valueSerde: subscriptionSerde,
  });
  topology.addProcessor(
    receiveName,
    subscriptionReceiveProcessor<K, KO, VO>(subscriptionStore, foreignKeySerde, leftKeySerde, rightGetter),
    registrationSource,
  );
  topology.addStateStore(
    Stores.keyValueStoreBuilder(
      Stores.persistentKeyValueStore(subscriptionStore),
      Serdes.ByteArray(),
      Serdes.MsgPack<StoredSubscription>(),
    )
      .withCachingDisabled()
      .withLoggingEnabled({}),
    receiveName,
  );
  topology.connectProcessorAndStateStores(receiveName, ...rightGetter.storeNames());
  topology.addProcessor(
    foreignName,
    foreignTableJoinProcessor<K, KO, VO>(subscriptionStore, foreignKeySerde, leftKeySerde),
    right.nodeName,
  );
  topology.connectProcessorAndStateStores(foreignName, subscriptionStore);
  topology.addSink(
    responseSinkFromReceive,
    responseTopic,
    { keySerde: leftKeySerde, valueSerde: responseSerde, ...toOrigin },
    receiveName,
  );
  topology.addSink(
    responseSinkFromForeign,
    responseTopic,
    { keySerde: leftKeySerde, valueSerde: responseSerde, ...toOrigin },
    foreignName,
  );

  // Back on the left side: join answers that still match the current left value.
  topology.addSource(responseSource, responseTopic, { keySerde: leftKeySerde, valueSerde: responseSerde });
  topology.addProcessor(
    resolverName,
    responseJoinProcessor<K, V, VO, VR>(kind, leftGetter.create.bind(leftGetter), leftValueSerde, joiner),
    responseSource,
  );
  topology.connectProcessorAndStateStores(resolverName, ...leftGetter.storeNames());

  // The result is a table: materialized when named, deletes as tombstones.
  const storeName = materialized?.storeName;
  const resultKeySerde = materialized?.keySerde ?? left.keySerde;
  const resultValueSerde = materialized?.valueSerde;
  const result: KTable<K, VR> = new KTable<K, VR>(
    builder,
    outputName,
    resultKeySerde,
    resultValueSerde,
    storeName,
    storeName !== undefined,
    {
      valueGetter: () => {
        if (!storeName)
          throw new Error(
            'A foreign-key join result must be materialized (Materialized.as) to be joined again',
          );
        return storeValueGetter<K, VR>(storeName);
      },
      enableSendingOldValues: () => undefined,
    },
  );
  topology.addProcessor(
    outputName,
    tableSourceProcessor<K, VR>(
      () => storeName,
      () => result.sendOldValues,
    ),
    resolverName,
  );
  if (storeName) {
    topology.addStateStore(
      builder.keyValueStore(storeName, materialized, resultKeySerde, resultValueSerde),
      outputName,
    );
    topology.storeMetadata.set(storeName, {
      timestamped: true,
      kind: 'key-value',
      queryable: materialized?.storeName !== undefined,
      ...(materialized?.storeSupplier
        ? { versioned: { historyRetentionMs: materialized.storeSupplier.historyRetentionMs } }
        : {}),
    });
  }
  return result;
}

type StoredSubscription = { h: string | null; i: Instruction; p: number; t: number };

/** Store key: foreign-key length (4 bytes), foreign key, primary key: prefix-scannable by foreign key. */
function combinedKey(fk: Buffer, pk: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(fk.length);
  return Buffer.concat([length, fk, pk]);
}

function foreignKeyPrefix(fk: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(fk.length);
  return Buffer.concat([length, fk]);
}

function subscriptionSendProcessor<K, V, KO>(
  kind: 'inner' | 'left',
  extract: (value: V) => KO,
  foreignKeySerde: Serde<KO>,
  valueSerde: Serde<V>,
): () => Processor<K, Change<V>, KO | null, Subscription<K>> {
  return () => {
    let context: ProcessorContext<KO | null, Subscription<K>>;
    const sameKey = (a: KO | null, b: KO | null): boolean =>
      a === b ||
      (a !== null && b !== null && foreignKeySerde.serialize(a).equals(foreignKeySerde.serialize(b)));
    const skipNullForeignKey = (): void => {
      logger.debug('Skipping record due to null foreign key');
      (context as unknown as InternalProcessorContext).recordDropped('null-key');
    };
    return {
      init(ctx) {
        context = ctx;
      },
      process(record: Record<K, Change<V>>) {
        const { newValue, oldValue } = record.value;
        const hash = newValue === null ? null : hashOf(valueSerde.serialize(newValue));
        const partition = context.recordMetadata()?.partition ?? 0;
        const send = (fk: KO | null, instruction: Instruction): void =>
          context.forward(
            record.withKey(fk).withValue({ hash, instruction, primaryKey: record.key, partition }),
          );
        const nullable = (v: KO): KO | null => (v === undefined ? null : v);
        const oldFk = oldValue === null ? null : nullable(extract(oldValue));
        if (kind === 'left') {
          if (oldValue === null && newValue === null) return; // idempotent delete: no output
          const newFk = newValue === null ? null : nullable(extract(newValue));
          // A changed key unsubscribes from the old foreign row, which may live on another partition.
          if (oldFk !== null && !sameKey(newFk, oldFk)) send(oldFk, Instruction.DELETE_KEY_NO_PROPAGATE);
          // Every change asks for an answer (a null key too), so a left-join result is always produced.
          send(newFk, Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE);
          return;
        }
        if (newValue === null) {
          // The left row is deleted: drop its subscription and delete the result.
          if (oldFk !== null) send(oldFk, Instruction.DELETE_KEY_AND_PROPAGATE);
          return;
        }
        const newFk = nullable(extract(newValue));
        if (newFk === null) {
          skipNullForeignKey();
          // The row no longer joins: unsubscribe and delete any earlier result.
          if (oldFk !== null) send(oldFk, Instruction.DELETE_KEY_AND_PROPAGATE);
        } else if (oldFk === null) {
          send(newFk, Instruction.PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE); // insert: nothing earlier to delete
        } else if (!sameKey(newFk, oldFk)) {
          send(oldFk, Instruction.DELETE_KEY_NO_PROPAGATE);
          // Propagate null when the new foreign row is missing, to delete the earlier result.
          send(newFk, Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE);
        } else {
          // Same foreign key: without a foreign row neither the old nor the new value joined.
          send(newFk, Instruction.PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE);
        }
      },
    };
  };
}

/** Stores (or removes) the subscription, then answers it with the foreign row's current value. */
function subscriptionReceiveProcessor<K, KO, VO>(
  storeName: string,
  foreignKeySerde: Serde<KO>,
  primaryKeySerde: Serde<K>,
  rightGetter: { create(ctx: ProcessorContext<any, any>): ValueGetter<KO, VO> },
): () => Processor<KO | null, Subscription<K>, K, SubscriptionResponse<VO>> {
  return () => {
    let context: ProcessorContext<K, SubscriptionResponse<VO>>;
    let store: KeyValueStore<Buffer, StoredSubscription>;
    let foreignValue: ValueGetter<KO, VO>;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<KeyValueStore<Buffer, StoredSubscription>>(storeName);
        foreignValue = rightGetter.create(ctx);
      },
      process(record: Record<KO | null, Subscription<K>>) {
        const sub = record.value;
        const fk = record.key;
        if (fk === null || fk === undefined) {
          if (sub.instruction !== Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE) {
            (context as unknown as InternalProcessorContext).recordDropped('null-key');
            return;
          }
        } else {
          const key = combinedKey(foreignKeySerde.serialize(fk), primaryKeySerde.serialize(sub.primaryKey));
          if (
            sub.instruction === Instruction.DELETE_KEY_AND_PROPAGATE ||
            sub.instruction === Instruction.DELETE_KEY_NO_PROPAGATE
          ) {
            store.delete(key);
          } else {
            store.put(key, { h: sub.hash, i: sub.instruction, p: sub.partition, t: record.timestamp });
          }
        }
        const found = fk === null || fk === undefined ? undefined : foreignValue(fk);
        const timestamp = found ? Math.max(record.timestamp, found.timestamp) : record.timestamp;
        const respond = (value: VO | null): void =>
          context.forward(
            record
              .withKey(sub.primaryKey)
              .withValue({ hash: sub.hash, foreignValue: value, partition: sub.partition })
              .withTimestamp(timestamp),
          );
        switch (sub.instruction) {
          case Instruction.DELETE_KEY_AND_PROPAGATE:
            respond(null);
            break;
          case Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE:
            respond(found?.value ?? null);
            break;
          case Instruction.PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE:
            if (found) respond(found.value);
            break;
          case Instruction.DELETE_KEY_NO_PROPAGATE:
            break;
        }
      },
    };
  };
}

/** A change of a foreign row answers every subscription to it. */
function foreignTableJoinProcessor<K, KO, VO>(
  storeName: string,
  foreignKeySerde: Serde<KO>,
  primaryKeySerde: Serde<K>,
): () => Processor<KO, Change<VO>, K, SubscriptionResponse<VO>> {
  return () => {
    let context: ProcessorContext<K, SubscriptionResponse<VO>>;
    let store: KeyValueStore<Buffer, StoredSubscription>;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<KeyValueStore<Buffer, StoredSubscription>>(storeName);
      },
      process(record: Record<KO, Change<VO>>) {
        if (record.key === null || record.key === undefined) return;
        const prefix = foreignKeyPrefix(foreignKeySerde.serialize(record.key));
        for (const { key, value } of store.prefixScan(prefix)) {
          const primaryKey = primaryKeySerde.deserialize(key.subarray(prefix.length));
          context.forward(
            record
              .withKey(primaryKey)
              .withValue({ hash: value.h, foreignValue: record.value.newValue, partition: value.p }),
          );
        }
      },
    };
  };
}

/** Joins an answer with the current left value, unless the left row changed since it subscribed. */
function responseJoinProcessor<K, V, VO, VR>(
  kind: 'inner' | 'left',
  createLeftGetter: (ctx: ProcessorContext<any, any>) => ValueGetter<K, V>,
  valueSerde: Serde<V>,
  joiner: (leftValue: V, rightValue: VO | null, key: K) => VR,
): () => Processor<K, SubscriptionResponse<VO>, K, VR | null> {
  return () => {
    let context: ProcessorContext<K, VR | null>;
    let leftValue: ValueGetter<K, V>;
    return {
      init(ctx) {
        context = ctx;
        leftValue = createLeftGetter(ctx);
      },
      process(record: Record<K, SubscriptionResponse<VO>>) {
        const current = leftValue(record.key);
        const currentHash = current === undefined ? null : hashOf(valueSerde.serialize(current.value));
        if (currentHash !== record.value.hash) return; // stale: the left row changed since
        const foreign = record.value.foreignValue;
        const result =
          foreign === null && (kind === 'inner' || current === undefined)
            ? null
            : joiner(current!.value, foreign, record.key);
        context.forward(record.withValue(result));
      },
    };
  };
}

function subscriptionSerdeOf<K>(primaryKeySerde: Serde<K>): Serde<Subscription<K>> {
  const msgpack = Serdes.MsgPack<{ h: string | null; i: Instruction; k: Buffer; p: number }>();
  return {
    name: 'Subscription',
    serialize: (s) =>
      msgpack.serialize({
        h: s.hash,
        i: s.instruction,
        k: primaryKeySerde.serialize(s.primaryKey),
        p: s.partition,
      }),
    deserialize: (bytes) => {
      const raw = msgpack.deserialize(bytes);
      return {
        hash: raw.h,
        instruction: raw.i,
        primaryKey: primaryKeySerde.deserialize(Buffer.from(raw.k)),
        partition: raw.p,
      };
    },
  };
}

function responseSerdeOf<VO>(foreignValueSerde: Serde<VO>): Serde<SubscriptionResponse<VO>> {
  const msgpack = Serdes.MsgPack<{ h: string | null; v: Buffer | null; p: number }>();
  return {
    name: 'SubscriptionResponse',
    serialize: (r) =>
      msgpack.serialize({
        h: r.hash,
        v:
          r.foreignValue === null || r.foreignValue === undefined
            ? null
            : foreignValueSerde.serialize(r.foreignValue),
        p: r.partition,
      }),
    deserialize: (bytes) => {
      const raw = msgpack.deserialize(bytes);
      return {
        hash: raw.h,
        foreignValue: raw.v === null ? null : foreignValueSerde.deserialize(Buffer.from(raw.v)),
        partition: raw.p,
      };
    },
  };
}

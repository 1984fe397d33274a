/**
 * A Serde turns values of one type into bytes and back. As in Kafka Streams, `null` never reaches a
 * serde: the framework passes null keys and tombstone values through untouched.
 */
export interface Serde<T> {
  serialize(data: T, topic?: string): Buffer;
  deserialize(data: Buffer, topic?: string): T;
  /** Short name shown in describe() output and error messages. */
  readonly name?: string;
}

/** The value type a serde produces: `SerdeType<typeof Serdes.Long> ` is `number`. */
export type SerdeType<S> = S extends Serde<infer T> ? T : S extends () => Serde<infer T> ? T : never;

/** The name to show for a serde in describe() output and error messages. */
export function serdeName(serde: Serde<unknown>): string {
  if (serde.name) return serde.name;
  const ctor = (serde as object).constructor?.name;
  return ctor && ctor !== 'Object' ? ctor : 'custom';
}

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

export type { Serde, SerdeType } from './serde.ts';
export { serdeName } from './serde.ts';
export { Serdes, MSGPACK_OPTIONS } from './serdes.ts';
export type { JsonSerdeOptions } from './serdes.ts';
export { SerializationError, DeserializationError, serializeOrThrow, deserializeOrThrow } from './errors.ts';
export type { RecordPart, SerdeErrorContext } from './errors.ts';

/**
 * Keys and values cross the QueryService as JavaScript values (whatever the store's serdes decode);
 * JSON has fewer types. The mapping, documented in docs/serving-http.md:
 * bigint → decimal string, Buffer/Uint8Array → base64 string, other typed arrays → arrays, Map → object (or [key, value] pairs when
 * a key is not a string or number), Set → array, Date → ISO string, undefined/functions/symbols → null,
 * a cycle → "[Circular]". Everything else as JSON.stringify would write it.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function toJsonValue(value: unknown, seen?: Set<object>): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value + 0 : null; // + 0: -0 is 0 in JSON
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return null;
  }
  if (value === null) return null;
  const object = value as object;
  if (object instanceof Uint8Array)
    return Buffer.from(object.buffer, object.byteOffset, object.byteLength).toString('base64');
  if (ArrayBuffer.isView(object) && !(object instanceof DataView)) {
    return Array.from(object as unknown as ArrayLike<number | bigint>, (item) => toJsonValue(item));
  }
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
  // The cycle guard is made on the first object only: a point query's string key and number value
  // allocate nothing here.
  seen ??= new Set();
  if (seen.has(object)) return '[Circular]';
  seen.add(object);
  try {
    if (Array.isArray(object)) return object.map((item) => toJsonValue(item, seen));
    if (object instanceof Set) return [...object].map((item) => toJsonValue(item, seen));
    if (object instanceof Map) {
      const entries = [...object.entries()];
      if (entries.every(([k]) => typeof k === 'string' || typeof k === 'number')) {
        return Object.fromEntries(entries.map(([k, v]) => [String(k), toJsonValue(v, seen)]));
      }
      return entries.map(([k, v]) => [toJsonValue(k, seen), toJsonValue(v, seen)]);
    }
    const withToJson = object as { toJSON?: unknown };
    if (typeof withToJson.toJSON === 'function') {
      return toJsonValue((withToJson.toJSON as () => unknown).call(object), seen);
    }
    // fromEntries defines properties, so a key named __proto__ stays a plain key.
    return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, toJsonValue(v, seen)]));
  } finally {
    seen.delete(object);
  }
}

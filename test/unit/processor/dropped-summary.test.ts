/**
 * Expected per-record drops: one warn line per reason at most every 30 s with the count since the
 * last line (each drop itself is logged at debug and counted in the metric).
 */
import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { createLogger } from '../../../src/logger.ts';
import { DroppedRecordSummary } from '../../../src/processor/internals/dropped-summary.ts';

function capture(): {
  lines: Array<{ level: number; msg: string; reason: string; dropped: number }>;
  stream: Writable;
} {
  const lines: Array<{ level: number; msg: string; reason: string; dropped: number }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, stream };
}

describe('DroppedRecordSummary', () => {
  it('writes one warn line per reason per window, with the count since the previous line', () => {
    const { lines, stream } = capture();
    let now = 1_000_000;
    const summary = new DroppedRecordSummary(createLogger({ level: 'debug', stream }), () => now);
    summary.dropped('late'); // first one: at once
    for (let i = 0; i < 500; i++) {
      now += 10;
      summary.dropped('late');
    }
    summary.dropped('null-key');
    now += 30_000;
    summary.dropped('late');
    expect(lines.map((l) => [l.level, l.reason, l.dropped])).toEqual([
      [40, 'late', 1],
      [40, 'null-key', 1],
      [40, 'late', 501],
    ]);
    expect(lines[2]!.msg).toMatch(
      /^dropped 501 records \(late\) in the last 35 s; counted in lambda_streams_dropped_records_total\{reason="late"\}/,
    );
  });
});

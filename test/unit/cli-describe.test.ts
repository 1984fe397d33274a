import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('lambda-streams describe', () => {
  it('prints a topology file in Kafka Streams text format', async () => {
    const { stdout } = await run('node', ['bin/lambda-streams.js', 'describe', 'topologies/word-count.ts']);
    expect(stdout).toContain('Application: word-count');
    expect(stdout).toContain('Sink: word-counts-repartition-sink (topic: word-counts-repartition)');
    expect(stdout).toContain('Processor: KSTREAM-AGGREGATE-0000000003 (stores: [word-counts])');
  });

  it('prints Mermaid with --format mermaid', async () => {
    const { stdout } = await run('node', [
      'bin/lambda-streams.js',
      'describe',
      '--format',
      'mermaid',
      'topologies/pageviews.ts',
    ]);
    expect(stdout.startsWith('flowchart TD')).toBe(true);
    expect(stdout).toContain('stores: pageviews-per-minute');
  });

  it('fails with a clear message for a missing file', async () => {
    await expect(
      run('node', ['bin/lambda-streams.js', 'describe', 'topologies/missing.ts']),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('Topology file not found'),
    });
  });
});

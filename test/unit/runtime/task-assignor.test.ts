import { describe, expect, it } from 'vitest';

import {
  TaskAssignor,
  allTasks,
  assignTasks,
  decodeAssignment,
  encodeInfo,
} from '../../../src/runtime/task-assignor.ts';

const ids = (n: number, sub = 0): string[] => Array.from({ length: n }, (_, p) => `${sub}_${p}`);

describe('assignTasks', () => {
  it('balances task counts across members', () => {
    const result = assignTasks(
      [...ids(4, 0), ...ids(4, 1)],
      [
        { memberId: 'a', previous: [] },
        { memberId: 'b', previous: [] },
        { memberId: 'c', previous: [] },
      ],
    );
    const sizes = [...result.values()].map((t) => t.length).sort();
    expect(sizes).toEqual([2, 3, 3]);
    expect(new Set([...result.values()].flat()).size).toBe(8);
  });

  it('keeps tasks with their previous owner when balance allows', () => {
    const result = assignTasks(ids(4), [
      { memberId: 'x', previous: ['0_2', '0_3'] },
      { memberId: 'y', previous: ['0_0', '0_1'] },
    ]);
    expect(result.get('x')).toEqual(['0_2', '0_3']);
    expect(result.get('y')).toEqual(['0_0', '0_1']);
  });

  it('moves only what balance needs when a member joins', () => {
    const result = assignTasks(ids(4), [
      { memberId: 'a', previous: ids(4) },
      { memberId: 'b', previous: [] },
    ]);
    expect(result.get('a')!.length).toBe(2);
    expect(result.get('b')!.length).toBe(2);
  });

  it('rebalances sticky leftovers (2,2,0 → 2,1,1)', () => {
    const result = assignTasks(ids(4), [
      { memberId: 'a', previous: ['0_0', '0_1'] },
      { memberId: 'b', previous: ['0_2', '0_3'] },
      { memberId: 'c', previous: [] },
    ]);
    expect([...result.values()].map((t) => t.length).sort()).toEqual([1, 1, 2]);
  });
});

describe('TaskAssignor', () => {
  it('gives all source partitions of a task to one member and shares the host map', () => {
    const assignor = new TaskAssignor(
      [
        { subtopology: 0, topics: ['in'] },
        { subtopology: 1, topics: ['app-a-repartition', 'app-b-repartition'] },
      ],
      () => ({ version: 1, tasks: [] }),
    );
    const counts = new Map([
      ['in', 2],
      ['app-a-repartition', 2],
      ['app-b-repartition', 2],
    ]);
    expect([
      ...allTasks([{ subtopology: 1, topics: ['app-a-repartition', 'app-b-repartition'] }], counts).keys(),
    ]).toEqual(['1_0', '1_1']);
    const result = assignor.assign({
      members: [
        { memberId: 'm1', topics: [], userData: encodeInfo({ version: 1, tasks: [], endpoint: 'h1:1' }) },
        { memberId: 'm2', topics: [], userData: encodeInfo({ version: 1, tasks: [], endpoint: 'h2:2' }) },
      ],
      partitionCounts: counts,
    });
    for (const { assignment } of result.values()) {
      expect(assignment['app-a-repartition']).toEqual(assignment['app-b-repartition']);
    }
    const info = decodeAssignment(result.get('m1')!.userData!)!;
    expect(Object.keys(info.hosts).sort()).toEqual(['h1:1', 'h2:2']);
    expect([...info.hosts['h1:1']!, ...info.hosts['h2:2']!].sort()).toEqual(['0_0', '0_1', '1_0', '1_1']);
  });
});

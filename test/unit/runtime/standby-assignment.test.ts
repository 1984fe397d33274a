import { describe, expect, it } from 'vitest';

import {
  TaskAssignor,
  assignStandbys,
  assignTasks,
  decodeAssignment,
  encodeInfo,
} from '../../../src/runtime/task-assignor.ts';

const ids = (n: number, sub = 0): string[] => Array.from({ length: n }, (_, p) => `${sub}_${p}`);

describe('standby replicas', () => {
  it('never places a standby on the member running the active task', () => {
    const members = [
      { memberId: 'a', previous: [] },
      { memberId: 'b', previous: [] },
      { memberId: 'c', previous: [] },
    ];
    const active = assignTasks(ids(6), members);
    const standbys = assignStandbys(active, members, 1);
    const ownerOf = new Map([...active].flatMap(([m, ts]) => ts.map((t) => [t, m] as const)));
    for (const [member, tasks] of standbys) for (const t of tasks) expect(ownerOf.get(t)).not.toBe(member);
    expect([...standbys.values()].flat().sort()).toEqual(ids(6));
    expect([...standbys.values()].map((t) => t.length)).toEqual([2, 2, 2]);
  });

  it('gives fewer replicas than asked when the group is too small', () => {
    const members = [{ memberId: 'a', previous: [] }];
    const standbys = assignStandbys(assignTasks(ids(2), members), members, 1);
    expect(standbys.get('a')).toEqual([]);
  });

  it('keeps standbys where the state already is', () => {
    const members = [
      { memberId: 'a', previous: ['0_0', '0_1'], standbys: ['0_2', '0_3'] },
      { memberId: 'b', previous: ['0_2', '0_3'], standbys: ['0_0', '0_1'] },
      { memberId: 'c', previous: [], standbys: [] },
    ];
    const active = assignTasks(ids(4), members);
    const standbys = assignStandbys(active, members, 1);
    for (const [member, tasks] of standbys) {
      const had = members.find((m) => m.memberId === member)!;
      for (const t of tasks) {
        if (active.get('c')!.includes(t)) continue; // moved to c: any replica will do
        expect([...had.previous, ...had.standbys]).toContain(t);
      }
    }
  });

  it('fails a task over to the member that kept its standby', () => {
    // a died; b kept standbys of a's tasks: they go to b, not to the fresh member c.
    const result = assignTasks(ids(4), [
      { memberId: 'b', previous: ['0_2', '0_3'], standbys: ['0_0', '0_1'] },
      { memberId: 'c', previous: [], standbys: [] },
      { memberId: 'd', previous: [], standbys: [] },
    ]);
    // capacity 2 per member: b keeps its own two, so a's tasks cannot all go to b; with capacity
    // room, the standby holder wins.
    const two = assignTasks(ids(2), [
      { memberId: 'b', previous: [], standbys: ['0_0', '0_1'] },
      { memberId: 'c', previous: [], standbys: [] },
    ]);
    expect(two.get('b')).toContain('0_0');
    expect([...result.values()].flat().sort()).toEqual(ids(4));
  });

  it('carries each member its standbys in the assignment userData', () => {
    const assignor = new TaskAssignor(
      [{ subtopology: 0, topics: ['in'] }],
      () => ({ version: 1, tasks: [] }),
      1,
    );
    const result = assignor.assign({
      members: [
        { memberId: 'a', topics: ['in'], userData: encodeInfo({ version: 1, tasks: ['0_0'] }) },
        { memberId: 'b', topics: ['in'], userData: encodeInfo({ version: 1, tasks: ['0_1'] }) },
      ],
      partitionCounts: new Map([['in', 2]]),
    });
    expect(decodeAssignment(result.get('a')!.userData!)).toMatchObject({ tasks: ['0_0'], standbys: ['0_1'] });
    expect(decodeAssignment(result.get('b')!.userData!)).toMatchObject({ tasks: ['0_1'], standbys: ['0_0'] });
  });
});

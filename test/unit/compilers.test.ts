// The optimizing compilers' switch as a table: the process's Node flags, what is called, and
// exactly which V8 flags each call sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { optimizingCompilers } from '../../src/agent/compilers.ts';

const CASES: { name: string; nodeFlags: string; calls: ('off' | 'restore')[]; set: string[]; offResults: boolean[] }[] =
  [
    {
      name: 'as injected: off, then back on',
      nodeFlags: '--max-semi-space-size=1 ',
      calls: ['off', 'restore'],
      set: ['--no-maglev --no-turbofan', '--maglev --turbofan'],
      offResults: [true],
    },
    {
      name: 'a wait that ends before a second: nothing to restore',
      nodeFlags: '--max-semi-space-size=1 ',
      calls: ['restore'],
      set: [],
      offResults: [],
    },
    {
      name: 'off twice, restored once',
      nodeFlags: '',
      calls: ['off', 'off', 'restore', 'restore'],
      set: ['--no-maglev --no-turbofan', '--maglev --turbofan'],
      offResults: [true, false],
    },
    {
      name: 'flags that trace or size code are not the operator choosing compilers',
      nodeFlags: '--trace-opt --optimize-for-size --max-old-space-size=64 ',
      calls: ['off', 'restore'],
      set: ['--no-maglev --no-turbofan', '--maglev --turbofan'],
      offResults: [true],
    },
    ...[
      '--max-opt=0',
      '--max-opt 2',
      '--no-maglev',
      '--maglev',
      '--no-turbofan',
      '--no-opt',
      '--jitless',
      '--lite-mode',
      '--no-sparkplug',
    ].map((flag) => ({
      name: `the operator chose the compilers (${flag}): left alone`,
      nodeFlags: `--max-semi-space-size=1 ${flag}`,
      calls: ['off', 'restore'] as ('off' | 'restore')[],
      set: [],
      offResults: [false],
    })),
    {
      name: 'in NODE_OPTIONS too',
      nodeFlags: '--max-semi-space-size=1 --max-opt=1',
      calls: ['off', 'restore'],
      set: [],
      offResults: [false],
    },
  ];

for (const c of CASES) {
  test(`compilers: ${c.name}`, () => {
    const set: string[] = [];
    const compilers = optimizingCompilers(c.nodeFlags, (flags) => set.push(flags));
    const offResults: boolean[] = [];
    for (const call of c.calls) {
      if (call === 'off') offResults.push(compilers.off());
      else compilers.restore();
    }
    assert.deepEqual(set, c.set);
    assert.deepEqual(offResults, c.offResults);
  });
}

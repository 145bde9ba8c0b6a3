// The JSON Patch helpers: whole operations asserted, and each applied with
// fast-json-patch to show it does what it says on a real document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapePointer, insertAt, removeAt, setEntries } from '../../src/webhook/patch.ts';
import { quantityValue } from '../../src/webhook/quantity.ts';
import { applyPatch } from './helpers.ts';

test('escapePointer: ~ before /, as RFC 6901 requires', () => {
  assert.equal(escapePointer('netready.io/status'), 'netready.io~1status');
  assert.equal(escapePointer('a~/b'), 'a~0~1b');
  assert.equal(escapePointer('~1'), '~01');
});

const CASES = [
  {
    name: 'absent array: add the whole array',
    doc: { spec: {} },
    op: insertAt('/spec/initContainers', undefined, 0, { name: 'x' }),
    want: { op: 'add', path: '/spec/initContainers', value: [{ name: 'x' }] },
    after: { spec: { initContainers: [{ name: 'x' }] } },
  },
  {
    name: 'present array: insert at the index',
    doc: { spec: { initContainers: [{ name: 'a' }, { name: 'b' }] } },
    op: insertAt('/spec/initContainers', [{}, {}], 1, { name: 'x' }),
    want: { op: 'add', path: '/spec/initContainers/1', value: { name: 'x' } },
    after: { spec: { initContainers: [{ name: 'a' }, { name: 'x' }, { name: 'b' }] } },
  },
  {
    name: 'present array: insert at the end',
    doc: { l: [1] },
    op: insertAt('/l', [1], 1, 2),
    want: { op: 'add', path: '/l/1', value: 2 },
    after: { l: [1, 2] },
  },
  {
    name: 'remove an element',
    doc: { l: [1, 2, 3] },
    op: removeAt('/l', 1),
    want: { op: 'remove', path: '/l/1' },
    after: { l: [1, 3] },
  },
];
for (const c of CASES) {
  test(`patch: ${c.name}`, () => {
    assert.deepEqual(c.op, c.want);
    assert.deepEqual(applyPatch(c.doc, [c.op]), c.after);
  });
}

test('insertAt refuses an index outside the array', () => {
  assert.throws(() => insertAt('/l', [1], 2, 0), RangeError);
});

test('setEntries: absent map added whole; present map gets one escaped add per key, replacing old values', () => {
  assert.deepEqual(setEntries('/metadata/annotations', undefined, { 'netready.io/status': 'injected' }), [
    { op: 'add', path: '/metadata/annotations', value: { 'netready.io/status': 'injected' } },
  ]);
  const ops = setEntries(
    '/metadata/annotations',
    { 'netready.io/status': 'old' },
    { 'netready.io/status': 'injected', 'a~b': 'c' },
  );
  assert.deepEqual(ops, [
    { op: 'add', path: '/metadata/annotations/netready.io~1status', value: 'injected' },
    { op: 'add', path: '/metadata/annotations/a~0b', value: 'c' },
  ]);
  assert.deepEqual(applyPatch({ metadata: { annotations: { 'netready.io/status': 'old', x: 'y' } } }, ops), {
    metadata: { annotations: { 'netready.io/status': 'injected', x: 'y', 'a~b': 'c' } },
  });
  assert.deepEqual(setEntries('/m', {}, {}), []);
});

test('quantityValue: the API server grammar', () => {
  const table: [string, number | null][] = [
    ['10m', 0.01],
    ['1', 1],
    ['1.5', 1.5],
    ['64Mi', 64 * 2 ** 20],
    ['1G', 1e9],
    ['1e3', 1000],
    ['.5', 0.5],
    ['', null],
    ['1mi', null],
    ['1 Mi', null],
    ['ten', null],
    ['1Mi ', null],
  ];
  for (const [text, want] of table) assert.equal(quantityValue(text), want, text);
});

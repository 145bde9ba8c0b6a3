// bench/exit-burst: what N Node processes exiting at the same instant cost on this machine, apart
// from anything netready does: each process builds its heap and says so; once all have, the
// parent sends them a common wall-clock instant 300 ms ahead; each waits for it, then calls
// process.exit(0) at once; the lag is the parent's 'exit' event minus that instant (p50 / p99 /
// max), and each process's own delay in reaching process.exit (its timer firing late) is taken
// out by having it print when it got there. Variants: a bare `node`; one holding ~15 MiB of
// JavaScript heap (an agent's RSS is ~57 MiB against a bare node's ~42), with and without the
// image's Node flags; one holding ~40 MiB; and the bare and ~15 MiB ones ended by a SIGKILL from
// themselves instead of process.exit, which leaves out Node's own exit work (its 'exit' event, the
// platform's and libuv's threads joined, atexit handlers): what remains is the kernel's teardown.
// Run alone, under the bench lock:
//
//   flock /work/team/bench.lock node bench/exit-burst.ts [N] [ROUNDS]
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { imageNodeFlags } from '../test/helpers/image.ts';

const N = Number(process.argv[2] ?? 30);
const ROUNDS = Number(process.argv[3] ?? 3);
const now = () => performance.timeOrigin + performance.now();

type Exit = 'process.exit' | 'SIGKILL';

/** The child: builds its heap, says so, takes the instant on stdin, says when it calls process.exit (or kills itself), does. */
const child = (heapMiB: number, exit: Exit) => `
const keep = [];
for (let i = 0; i < ${heapMiB} * 16; i++) keep.push(new Array(8192).fill(i));
let at = 0;
process.stdin.once('data', (d) => { at = Number(d); process.stdin.pause(); fire(); });
process.stdout.write('R');
const fire = () => {
  const left = at - (performance.timeOrigin + performance.now());
  if (left > 0) return void setTimeout(fire, left);
  process.stdout.write(String(performance.timeOrigin + performance.now()));
  ${exit === 'SIGKILL' ? "process.kill(process.pid, 'SIGKILL')" : 'process.exit(0)'};
};
`;

const VARIANTS: { name: string; flags: string[]; heapMiB: number; exit: Exit }[] = [
  { name: 'bare node', flags: [], heapMiB: 0, exit: 'process.exit' },
  { name: 'bare node, SIGKILL from itself', flags: [], heapMiB: 0, exit: 'SIGKILL' },
  {
    name: 'node holding ~15 MiB of heap (an agent: RSS ~57 MiB against ~42)',
    flags: [],
    heapMiB: 15,
    exit: 'process.exit',
  },
  { name: 'the same, SIGKILL from itself', flags: [], heapMiB: 15, exit: 'SIGKILL' },
  { name: 'the same with the image flags', flags: imageNodeFlags(), heapMiB: 15, exit: 'process.exit' },
  { name: 'node holding ~40 MiB of heap', flags: [], heapMiB: 40, exit: 'process.exit' },
];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const loadBefore = loadavg();
const rows: string[] = [];
for (const v of VARIANTS) {
  const reach: number[] = [];
  const exitLag: number[] = [];
  const total: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let at = 0;
    let ready = 0;
    const allReady = Promise.withResolvers<void>();
    const children = Array.from({ length: N }, () =>
      spawn(process.execPath, [...v.flags, '-e', child(v.heapMiB, v.exit)], { stdio: ['pipe', 'pipe', 'inherit'] }),
    );
    const runs = children.map((p) => {
      let out = '';
      p.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (out === '' && d.startsWith('R') && ++ready === N) allReady.resolve();
        out += d;
      });
      let exitedAt = 0;
      p.once('exit', () => (exitedAt = now()));
      // Its output is read in full only at 'close', which may come after 'exit'.
      return new Promise<void>((resolve) =>
        p.once('close', (code, signal) => {
          const ended = v.exit === 'SIGKILL' ? signal === 'SIGKILL' : code === 0;
          if (!ended || !out.startsWith('R')) throw new Error(`child exited ${code ?? signal} (${out})`);
          const calledAt = Number(out.slice(1));
          reach.push(calledAt - at);
          exitLag.push(exitedAt - calledAt);
          total.push(exitedAt - at);
          resolve();
        }),
      );
    });
    await allReady.promise;
    at = now() + 300;
    for (const p of children) p.stdin.end(String(at));
    await Promise.all(runs);
    await sleep(500);
  }
  const cell = (xs: number[]) =>
    `${pct(xs, 50).toFixed(1)} / ${pct(xs, 99).toFixed(1)} / ${Math.max(...xs).toFixed(1)}`;
  rows.push(`| ${v.name} | ${cell(reach)} | ${cell(exitLag)} | ${cell(total)} |`);
}
console.log(
  `${N} processes exiting at one instant, ${ROUNDS} rounds; ${cpus().length} cores; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} after. Cells: p50 / p99 / max in ms over all processes of all rounds.`,
);
console.log('');
console.log('| process | instant → process.exit called | process.exit → parent sees the exit | instant → exit seen |');
console.log('| --- | ---: | ---: | ---: |');
for (const r of rows) console.log(r);

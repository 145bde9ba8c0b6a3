// V8's optimizing compilers (Maglev, TurboFan), turned off while a wait lasts and back on when it
// ends. A waiting agent runs the same few functions 50 times a second, and from ~6-15 s in V8
// compiles them with Maglev: its compile memory stays in glibc's heap (~0.9 MiB of private memory
// for the rest of the wait) for code that saves nothing measurable at this pace (BENCHMARKS.md,
// "Session 7: the optimizing compilers turned off at run time"). On Node's command line the same
// flags cost start-up: every code-generation flag is in V8's flag hash, and a hash other than the
// one Node's built-in code cache was made with rejects that cache for every built-in module loaded.
// Set at run time, once the built-ins the wait needs are loaded, they cost nothing of the kind;
// turned back on before the report, the hash is the start-up's again, so a built-in loaded after
// the wait (node:tls for an https collector) still takes its code cache.

/** How long a wait lasts before the compilers are turned off: a pod whose network is up at once never is. */
export const COMPILERS_OFF_AFTER_MS = 1_000;

const OFF = '--no-maglev --no-turbofan';
/** Node 24's defaults on every platform its image runs on. */
const ON = '--maglev --turbofan';
/** A Node or V8 flag of the operator's that already says which compilers run: then the agent leaves them alone. */
const TIERING_FLAG = /--(?:no-)?(?:maglev|turbofan|opt|sparkplug)(?![\w-])|--max-opt|--jitless|--lite-mode/;

/** Turns the optimizing compilers off, and back on. */
export interface Compilers {
  /** Turns them off, unless the operator's flags chose the compilers; true if this call did. */
  off(): boolean;
  /** Turns them back on if off() turned them off. */
  restore(): void;
}

/**
 * The optimizing compilers of this process. `nodeFlags` is the process's Node flags
 * (`process.execArgv` and `NODE_OPTIONS`, joined); `setFlags` is `v8.setFlagsFromString`.
 */
export function optimizingCompilers(nodeFlags: string, setFlags: (flags: string) => void): Compilers {
  const ours = !TIERING_FLAG.test(nodeFlags);
  let turnedOff = false;
  return {
    off() {
      if (!ours || turnedOff) return false;
      setFlags(OFF);
      turnedOff = true;
      return true;
    },
    restore() {
      if (!turnedOff) return;
      setFlags(ON);
      turnedOff = false;
    },
  };
}

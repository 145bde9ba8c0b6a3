// SIGTERM (the kubelet stopping the container) and SIGINT (Ctrl-C): every
// program ends on the first of them, in its own way.

/** Resolves with the first SIGTERM or SIGINT from now on. Call it first thing, so that no signal goes unseen. */
export function untilSignal(): Promise<'SIGTERM' | 'SIGINT'> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

// Largest values of the agent's --timeout and --settle. Two programs take them:
// the agent as options, the webhook as its defaults and per-pod annotations
// that it passes on to the agent; both hold them to the same maximum.

/** `netready wait --timeout`: a pod waiting longer than a day is broken, not slow. */
export const MAX_WAIT_TIMEOUT = '24h';
/** `netready wait --settle`. */
export const MAX_WAIT_SETTLE = '10m';

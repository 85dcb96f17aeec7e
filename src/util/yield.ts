/**
 * Turning the event loop during long loops whose awaits all resolve at once (reads served
 * synchronously by the Node storage or from the cache are promise jobs, never macrotasks):
 * without an occasional macrotask, signal handlers, timers and abort listeners would not run
 * until the loop ends.
 */

/** Calls between two looks at the clock. */
const CALLS_PER_CHECK = 256;
/** At most this long (ms) between two turns of the event loop. */
const TURN_INTERVAL_MS = 50;

/**
 * Returns a function to call once per loop iteration: it gives `undefined` (keep going), or,
 * about every 50 ms, a promise that resolves after the event loop has turned once.
 */
export function eventLoopTurner(): () => Promise<void> | undefined {
  let calls = 0;
  let last = Date.now();
  return () => {
    if (++calls < CALLS_PER_CHECK) return undefined;
    calls = 0;
    const now = Date.now();
    if (now - last < TURN_INTERVAL_MS) return undefined;
    last = now;
    return new Promise<void>((resolve) => setTimeout(resolve, 0));
  };
}

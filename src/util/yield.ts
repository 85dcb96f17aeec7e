/**
 * Giving the event loop a turn, with the cheapest primitive the runtime has.
 *
 * `setTimeout(0)` is clamped (to 1 ms in Node, 4 ms in browsers after a few nested calls), so
 * a copy that yields between 600 steps spends seconds asleep. A posted message or
 * `scheduler.yield()` is a real macrotask (timers, I/O, abort listeners and input run before
 * it resolves) without the clamp. Runtime-neutral: every primitive is looked up on globalThis.
 */

interface Scheduler {
  yield?: () => Promise<void>;
}

/**
 * Resolves after the event loop has turned once: `scheduler.yield()` where present (Chromium),
 * else a message posted on a MessageChannel (browsers, Workers, Node, Deno, Bun), else
 * `setTimeout(0)`.
 */
export function yieldToLoop(): Promise<void> {
  const g = globalThis as { scheduler?: Scheduler; MessageChannel?: typeof MessageChannel };
  const sched = g.scheduler;
  if (sched && typeof sched.yield === 'function') return sched.yield();
  const MC = g.MessageChannel;
  if (typeof MC === 'function') {
    return new Promise<void>((resolve) => {
      // One channel per turn, closed when its message arrives: an open port would keep Node,
      // Deno or Bun running after the work is done.
      const ch = new MC();
      ch.port1.onmessage = () => {
        ch.port1.close();
        resolve();
      };
      ch.port2.postMessage(null);
    });
  }
  return new Promise<void>((resolve) => setTimeout(resolve, 0));
}

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
    return yieldToLoop();
  };
}

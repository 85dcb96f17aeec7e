// The bench's processes end with it. A bench process that is interrupted (Ctrl-C, or a
// `kill`/timeout that signals only this process) ends every process it started and removes
// its scratch files before it exits, so no writer, sqlite3 or quire CLI keeps running (and
// writing into bench/out/) after the run is gone.
//
// Each tracked child is started in its own process group (`detached: true`), and the whole
// group is signalled: that reaches what the child itself started (child.mjs's live writer,
// the command GNU time runs), which a signal to the child alone would orphan. A detached
// group does not get the terminal's Ctrl-C by itself, so this forwards it.
import { constants } from 'node:os';

const groups = new Set();
const cleanups = new Set();
let installed = false;

/** Starts tracking `child` (spawned with `detached: true`); returns it. */
export function reaped(child) {
  install();
  groups.add(child);
  child.on('exit', () => groups.delete(child));
  return child;
}

/** Runs `fn` if the process is ended by a signal; the returned function unregisters it. */
export function onInterrupt(fn) {
  install();
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

function install() {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      for (const child of groups) {
        // Nothing else reacts to these exits now (a run must not go on to write its results).
        child.removeAllListeners('exit');
        child.on('exit', () => groups.delete(child));
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // the group is already gone
        }
      }
      // Give the groups a moment to exit (and close what they write) before the files go.
      const deadline = Date.now() + 2000;
      const finish = () => {
        if (groups.size > 0 && Date.now() < deadline) return void setTimeout(finish, 20);
        for (const fn of cleanups) {
          try {
            fn();
          } catch {
            // best effort: the next run's cleanup removes what is left
          }
        }
        process.exit(128 + (constants.signals[sig] ?? 1));
      };
      finish();
    });
  }
}

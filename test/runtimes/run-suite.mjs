// Runs the suite in a script runtime (node, deno run, bun): argv: <base URL> <URL of the
// build's index.js>. Prints the suite's result as one JSON line on stdout.
import { runSuite } from './suite.mjs';

const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const quire = await import(args[1]);
const result = await runSuite(quire, args[0]);
console.log(JSON.stringify(result));

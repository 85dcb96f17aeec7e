// Runs the suite in a script runtime (node, deno run, bun): argv: <base URL>. Imports the
// BUILT dist/index.js and prints the suite's result as one JSON line on stdout.
import * as quire from '../../dist/index.js';
import { runSuite } from './suite.mjs';

const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const result = await runSuite(quire, args[0]);
console.log(JSON.stringify(result));

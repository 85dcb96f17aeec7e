// The workerd worker (bundled with dist/index.js by the test): GET /?base=<fixture server>
// runs the suite and answers its result as JSON.
import * as quire from '../../dist/index.js';
import { runSuite } from './suite.mjs';

export default {
  async fetch(request) {
    const base = new URL(request.url).searchParams.get('base');
    if (!base) return new Response('ready');
    try {
      return Response.json(await runSuite(quire, base));
    } catch (e) {
      return new Response(String(e && e.stack), { status: 500 });
    }
  },
};

// A module Worker that runs the suite (Chromium): post { base }; answers { result } or { error }.
self.onmessage = async (e) => {
  try {
    const quire = await import(`${e.data.base}/dist/index.js`);
    const { runSuite } = await import(`${e.data.base}/runtimes/suite.mjs`);
    self.postMessage({ result: await runSuite(quire, e.data.base) });
  } catch (err) {
    self.postMessage({ error: String(err && err.stack) });
  }
};

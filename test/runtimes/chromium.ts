/**
 * Headless Chromium (Debian's /usr/bin/chromium) through playwright-core, with a fresh
 * profile (user data dir) in a temporary directory (removed with the test's other temp dirs).
 */
import { chromium, type BrowserContext } from 'playwright-core';
import { tempDir } from '../util/tmp.js';

export type { BrowserContext };

export const CHROMIUM = '/usr/bin/chromium';

/** A persistent context on a fresh profile: close() it to end the browser. */
export async function launchChromium(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(tempDir('quire-chromium-'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

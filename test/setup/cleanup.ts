// vitest setupFiles: runs in every test file's process; removes the file's temporary
// directories when it ends (see test/util/tmp.ts).
import { afterAll } from 'vitest';
import { removeTempDirs } from '../util/tmp.js';

afterAll(() => removeTempDirs());

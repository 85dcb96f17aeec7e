import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = join(__dirname, '..', 'btree');

describe('btree/ layering', () => {
  it('imports only itself and pager/, no node: modules, no Buffer, no default exports', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(8);
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gms)) {
        const spec = m[1];
        expect(spec.startsWith('./') || spec.startsWith('../pager/'), `${f} imports ${spec}`).toBe(true);
        expect(spec.endsWith('.js'), `${f}: ${spec} needs a .js suffix`).toBe(true);
      }
      expect(text, f).not.toMatch(/\bBuffer\b/);
      expect(text, f).not.toMatch(/export default|\benum\s+\w+\s*\{/);
      expect(text.trimStart().startsWith('/**'), `${f} opens with its design comment`).toBe(true);
    }
  });
});

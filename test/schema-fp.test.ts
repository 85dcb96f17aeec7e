/**
 * SQLite's number <-> text conversions (src/schema/fp.ts), differential against better-sqlite3:
 * every expected value below comes from real SQLite at test time, never from the code under test.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { atof, atoi64, decOrHexToI64, realToText } from '../src/schema/fp.js';

const SEED = 0x5c4e3a;
console.log(`schema-fp: fast-check seed ${SEED}`);

const db = new Database(':memory:');
db.defaultSafeIntegers(true);
const castText = db.prepare('SELECT CAST(? AS TEXT)').pluck();
const castReal = db.prepare('SELECT CAST(? AS REAL)').pluck();
const castInt = db.prepare('SELECT CAST(? AS INTEGER)').pluck();

function sqliteText(r: number): string {
  return castText.get(r) as string;
}

/** Doubles that stress the digit generator: decimal-looking values, integers, extremes. */
const interestingDouble = fc.oneof(
  fc.double({ noNaN: true }),
  fc.double({ noNaN: true, min: -1e6, max: 1e6 }),
  fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }).map((n) => n / 1000),
  fc.tuple(fc.integer({ min: 1, max: 99_999_999 }), fc.integer({ min: -330, max: 310 })).map(([m, e]) => Number(`${m}e${e}`)),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((b) => Number(b)),
  fc.integer({ min: -1074, max: 1023 }).map((e) => 2 ** e),
  fc.constantFrom(0.1, 0.2, 0.3, 1 / 3, 2 / 3, 49.47, 1e15, 1e16, 1e17, 1e-4, 1e-5, 5e-324, 1.7976931348623157e308, 2.2250738585072014e-308, 0.30000000000000004, 123456789012345678, Infinity, -Infinity, -0),
);

describe('realToText ("%!.17g" as vdbeMemRenderNum)', () => {
  it('matches known renderings', () => {
    for (const r of [1, 0.1, 1e100, 0.1 + 0.2, 1e15, 1e16, 1 / 3, 2.5e-7, -0, 1e-5, 1e-4, 100, -1.5]) {
      expect(realToText(r)).toBe(sqliteText(r));
    }
    // Spot values whose SQLite text differs from JavaScript's shortest form.
    expect(sqliteText(1 / 3)).not.toBe(String(1 / 3));
    expect(realToText(1 / 3)).toBe(sqliteText(1 / 3));
  });

  it('renders Inf, -Inf like SQLite', () => {
    expect(realToText(Infinity)).toBe(sqliteText(Infinity));
    expect(realToText(-Infinity)).toBe(sqliteText(-Infinity));
  });

  it('agrees with SQLite on random doubles', () => {
    fc.assert(
      fc.property(interestingDouble, (r) => {
        expect(realToText(r)).toBe(sqliteText(r));
      }),
      { seed: SEED, numRuns: 20_000 },
    );
  });
});

/** Strings that look (or nearly look) like numbers. */
const numericText = fc
  .tuple(
    fc.constantFrom('', ' ', '  ', '\t', '\n'),
    fc.constantFrom('', '-', '+', '--', '- '),
    fc.oneof(fc.stringMatching(/^[0-9]{0,25}$/), fc.constantFrom('0', '00', '9223372036854775807', '9223372036854775808', '18446744073709551615', '1844674407370955160', '1844674407370955161')),
    fc.constantFrom('', '.', '.0', '.5', '.000001'),
    fc.stringMatching(/^[0-9]{0,22}$/),
    fc.oneof(fc.constant(''), fc.stringMatching(/^[eE][-+]?[0-9]{0,4}$/), fc.constantFrom('e', 'e+', 'E-', 'e400', 'e-400', 'e-330', 'e308', 'e99999')),
    fc.constantFrom('', ' ', 'x', ' \t', '\u0000abc', 'e'),
  )
  .map((parts) => parts.join(''));

describe('atof (sqlite3AtoF)', () => {
  it('matches CAST(text AS REAL) on random numeric-looking text', () => {
    fc.assert(
      fc.property(numericText, (t) => {
        const expected = castReal.get(t) as number;
        const got = atof(t).value;
        expect(Object.is(got, expected) || got === expected).toBe(true);
      }),
      { seed: SEED, numRuns: 20_000 },
    );
  });

  // atof's fast path (a mantissa below 2^53, an exponent within +-22: one exact multiplication
  // or division) and the edges around it: 15-16 digit mantissas, exponents 22 and 23.
  it('matches CAST(text AS REAL) on short mantissas with small exponents (the fast path and its edges)', () => {
    const shortText = fc
      .tuple(
        fc.constantFrom('', '-'),
        fc.stringMatching(/^[0-9]{1,17}$/),
        fc.nat({ max: 17 }),
        fc.integer({ min: -26, max: 26 }),
        fc.boolean(),
      )
      .map(([sign, digits, point, exp, withExp]) => {
        const at = Math.min(point, digits.length);
        const m = at === digits.length ? digits : `${digits.slice(0, at)}.${digits.slice(at)}`;
        return `${sign}${m}${withExp ? `e${exp}` : ''}`;
      });
    fc.assert(
      fc.property(shortText, (t) => {
        const expected = castReal.get(t) as number;
        const got = atof(t).value;
        expect(Object.is(got, expected) || got === expected, `${t}: ${got} vs ${expected}`).toBe(true);
      }),
      { seed: SEED + 7, numRuns: 30_000 },
    );
  });

  it('round-trips SQLite-rendered reals', () => {
    fc.assert(
      fc.property(interestingDouble, (r) => {
        const t = realToText(r);
        if (!Number.isFinite(r)) return;
        expect(atof(t).value).toBe(castReal.get(t));
      }),
      { seed: SEED + 1, numRuns: 5_000 },
    );
  });

  it('flags whole-number syntax, decimal points and trailing garbage', () => {
    expect(atof('12').rc).toBe(1);
    expect(atof(' 12 ').rc).toBe(1);
    expect(atof('1.5').rc & 2).toBe(2);
    expect(atof('1e3').rc & 2).toBe(2);
    expect(atof('0').rc & 4).toBe(4);
    expect(atof('12x').rc).toBeLessThan(0);
    expect(atof('').rc).toBe(0);
    expect(atof('x').rc).toBe(0);
    expect(atof('0x10').rc).toBeLessThan(0);
    expect(atof('12\u0000abc').rc).toBe(1);
  });
});

describe('atoi64 (sqlite3Atoi64) / decOrHexToI64', () => {
  it('matches CAST(text AS INTEGER) on random numeric-looking text', () => {
    fc.assert(
      fc.property(numericText, (t) => {
        // CAST AS INTEGER of text is sqlite3Atoi64's value unless the text is a real with an
        // exponent or a fraction; restrict to texts without those.
        if (/[.eE]/.test(t)) return;
        expect(atoi64(t).value).toBe(castInt.get(t) as bigint);
      }),
      { seed: SEED, numRuns: 10_000 },
    );
  });

  it('classifies overflow and trailing text', () => {
    expect(atoi64('9223372036854775807')).toEqual({ value: 9223372036854775807n, rc: 0 });
    expect(atoi64('9223372036854775808')).toEqual({ value: 9223372036854775807n, rc: 3 });
    expect(atoi64('-9223372036854775808')).toEqual({ value: -9223372036854775808n, rc: 0 });
    expect(atoi64('99999999999999999999').rc).toBe(2);
    expect(atoi64('12 ').rc).toBe(0);
    expect(atoi64('12a').rc).toBe(1);
    expect(atoi64('').rc).toBe(-1);
    expect(decOrHexToI64('0xff')).toEqual({ value: 255n, rc: 0 });
    expect(decOrHexToI64('0xffffffffffffffff')).toEqual({ value: -1n, rc: 0 });
    expect(decOrHexToI64('0x10000000000000000').rc).toBe(2);
  });

  it('hex literals agree with SQLite', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^0[xX][0-9a-fA-F]{1,16}$/), (t) => {
        const expected = db.prepare(`SELECT ${t}`).pluck().get() as bigint;
        expect(decOrHexToI64(t).value).toBe(expected);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});

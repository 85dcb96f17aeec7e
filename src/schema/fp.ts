/**
 * SQLite's own number <-> text conversions, bit for bit (SQLite 3.53, util.c and printf.c).
 *
 * Why not Number.prototype.toString / parseFloat? Because SQLite does not use the C library
 * either, and its answers differ in ways a database file makes visible:
 *
 *   - REAL -> TEXT (TEXT affinity on insert, CAST(r AS TEXT), `r || ''`) renders "%!.17g":
 *     17 significant digits computed from an 18-digit approximation (so 1/3 becomes
 *     "0.33333333333333332", not JS's "0.3333333333333333"), shortened to 15..16 digits only
 *     when that round-trips and the 17-digit form ends in a run of 0s or 9s (so 0.1 -> "0.1"),
 *     always with a ".0" or an exponent ("1.0", "1.0e+100", "1.0e-05"), "Inf"/"-Inf".
 *   - TEXT -> REAL (NUMERIC/INTEGER/REAL affinity, CAST(t AS REAL)) uses only the first ~19
 *     significant digits of the mantissa, ignores digits past that, caps the exponent at
 *     +-10000, accepts leading and trailing spaces (" 12 "), "5." and ".5", and stops at the
 *     first NUL character.
 *
 * Algorithms (our own code, same arithmetic as SQLite's):
 *
 *   value r = m * 2^e, m a 64-bit mantissa with its top bit set
 *     fp2Convert10(m, e, 18)   d * 10^p ~= r with d of 18 digits: one 64x64->128 multiply by
 *                              the top 64 bits of 10^-p, then round-half-up at the last bit
 *     fp10Convert2(d, p)       the double nearest d * 10^p (Russ Cox's fpfmt method: 64x64
 *                              multiply by 10^p's top 96 bits, sticky bit, round to even)
 *   powerOfTen(p)              the top 64 (+32) bits of 10^p for -348 <= p <= 347: exact for
 *                              0..26, else aScale[p/27] * aBase[p%27] truncated, where the
 *                              aScale entries come from a 256-bit table built by repeated
 *                              *10 (or /10 with truncation) and normalisation, the low 32 bits
 *                              rounded half-up: the construction of SQLite's tool/mkfptab.c.
 *
 * All 64-bit arithmetic is done in bigint, masked to 64 bits where C would wrap. Tables are
 * built on first use (no work at module load).
 */

const M64 = 0xffffffffffffffffn;
const M32 = 0xffffffffn;
const BIT63 = 0x8000000000000000n;

/** (LARGEST_UINT64 - 9) / 10: past this the mantissa accumulator stops taking digits. */
const MANTISSA_LIMIT = 1844674407370955160n;

// ---- powers of ten -------------------------------------------------------------------------

interface PowTables {
  base: bigint[]; // 10^0 .. 10^26, left-justified in 64 bits (exact)
  scale: bigint[]; // 10^(27*(i-13)) top 64 bits; index 13 holds 10^-1
  scaleLo: bigint[]; // the next 32 bits, rounded half-up (except 10^-1, truncated)
}

let tables: PowTables | undefined;

function powTables(): PowTables {
  if (tables) return tables;
  const FIRST = -351;
  const LAST = 347;
  const ZERO = -FIRST; // index of 10^0
  const count = LAST - FIRST + 1;
  const hi: bigint[] = new Array(count);
  const lo: bigint[] = new Array(count);
  const M256 = (1n << 256n) - 1n;
  const TOP256 = 1n << 255n;
  // 10^0 down to 10^-351: divide a 256-bit fraction by 10 (truncating), then renormalise.
  let v = TOP256;
  for (let i = ZERO; i >= 0; i--) {
    hi[i] = v >> 192n;
    lo[i] = (v >> 128n) & M64;
    v = v / 10n;
    while (v < TOP256) v = (v << 1n) & M256;
  }
  // 10^1 up to 10^347: multiply by 10, keep the top word empty by halving (truncating).
  v = 1n << 191n;
  const TOPWORD = 1n << 192n;
  for (let i = ZERO + 1; i < count; i++) {
    v = (v * 10n) & M256;
    while (v >= TOPWORD) v >>= 1n;
    hi[i] = (v >> 128n) & M64;
    lo[i] = (v >> 64n) & M64;
  }
  const base: bigint[] = [];
  for (let n = 0; n < 27; n++) base.push(hi[ZERO + n]);
  const scale: bigint[] = [];
  const scaleLo: bigint[] = [];
  for (let i = 0; i < count; i += 27) {
    const k = i === ZERO ? i - 1 : i; // the 10^0 slot holds 10^-1 instead
    scale.push(hi[k]);
    let x = lo[k];
    if (k !== ZERO - 1 && (x & 0x80000000n) !== 0n) x = (x + 0x100000000n) & M64;
    scaleLo.push(x >> 32n);
  }
  tables = { base, scale, scaleLo };
  return tables;
}

/** Top 64 bits of 10^p (and the next 32 in `lo`), like powerOfTen() in util.c. */
function powerOfTen(p: number): { hi: bigint; lo: bigint } {
  const t = powTables();
  let g: number;
  let n: number;
  if (p < 0) {
    if (p === -1) return { hi: t.scale[13], lo: t.scaleLo[13] };
    g = Math.trunc(p / 27);
    n = p % 27;
    if (n !== 0) {
      g--;
      n += 27;
    }
  } else if (p < 27) {
    return { hi: t.base[p], lo: 0n };
  } else {
    g = Math.trunc(p / 27);
    n = p % 27;
  }
  const s = t.scale[g + 13];
  const sLo = t.scaleLo[g + 13];
  if (n === 0) return { hi: s, lo: sLo };
  // 96-bit (s:sLo) times 64-bit base[n]; keep the top 96 bits of the 160-bit product.
  const b = t.base[n];
  const r = s * b + ((sLo * b) >> 32n);
  let x = r >> 64n;
  let lo = (r >> 32n) & M32;
  if ((x & BIT63) === 0n) {
    x = ((x << 1n) | ((lo >> 31n) & 1n)) & M64;
    lo = ((lo << 1n) | 1n) & M32;
  }
  return { hi: x, lo };
}

/** floor(log2(10^p)), approximately (SQLite's pwr10to2). */
function pwr10to2(p: number): number {
  return (p * 108853) >> 15;
}

/** floor(log10(2^p)), approximately (SQLite's pwr2to10). */
function pwr2to10(p: number): number {
  return (p * 78913) >> 18;
}

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** d * 10^p ~= m * 2^e with d of at least `n` digits (m has bit 63 set); returns [d, p]. */
function fp2Convert10(m: bigint, e: number, n: number): [bigint, number] {
  const p = n - 1 - pwr2to10(e + 63);
  let h = (m * powerOfTen(p).hi) >> 64n;
  let d: bigint;
  if (n === 18) {
    h >>= BigInt(-(e + pwr10to2(p) + 2));
    d = (h + ((h << 1n) & 2n)) >> 1n;
  } else {
    d = h >> BigInt(-(e + pwr10to2(p) + 1));
  }
  return [d, -p];
}

let f64: Float64Array | undefined;
let u64: BigUint64Array | undefined;

/** The bits of a double (a shared scratch buffer, allocated on first use). */
function doubleBits(r: number): bigint {
  f64 ??= new Float64Array(1);
  u64 ??= new BigUint64Array(f64.buffer);
  f64[0] = r;
  return u64[0];
}

function bitsDouble(bits: bigint): number {
  f64 ??= new Float64Array(1);
  u64 ??= new BigUint64Array(f64.buffer);
  u64[0] = bits;
  return f64[0];
}

/** The double nearest d * 10^p (d > 0), like sqlite3Fp10Convert2. */
export function fp10Convert2(d: bigint, p: number): number {
  if (p < -348) return 0;
  if (p > 347) return Infinity;
  const b = bitLength(d);
  const lp = pwr10to2(p);
  let e = 53 - b - lp;
  if (e > 1074) {
    if (e >= 1130) return 0;
    e = 1074;
  }
  const s = BigInt(-(e - (64 - b) + lp + 3));
  const pw = powerOfTen(p);
  let pwr10h = pw.hi;
  let pwr10l = pw.lo;
  if (pwr10l !== 0n) {
    pwr10h = (pwr10h + 1n) & M64;
    pwr10l = ~pwr10l & M32;
  }
  const x = (d << BigInt(64 - b)) & M64;
  const prod = x * pwr10h;
  let hi = prod >> 64n;
  const mid1 = (prod >> 32n) & M32;
  let sticky = 1n;
  if ((hi & ((1n << s) - 1n)) === 0n) {
    const mid2 = (x * (pwr10l << 32n)) >> 96n; // high 64 bits, then >> 32
    sticky = ((mid1 - mid2) & M32) > 1n ? 1n : 0n;
    if (mid1 < mid2) hi = (hi - 1n) & M64;
  }
  let u = (hi >> s) | sticky;
  if (u >= (1n << 55n) - 2n) {
    u = (u >> 1n) | (u & 1n);
    e -= 1;
  }
  let m = (u + 1n + ((u >> 2n) & 1n)) >> 2n;
  if (e <= -972) return Infinity;
  if ((m & (1n << 52n)) !== 0n) m = (m & ~(1n << 52n)) | (BigInt(1075 - e) << 52n);
  return bitsDouble(m);
}

// ---- TEXT -> REAL --------------------------------------------------------------------------

/** SQLite's isspace: space, \t, \n, \v, \f, \r. */
export function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Result of {@link atof}. `rc` follows sqlite3AtoF: > 0 the whole text (less surrounding
 * spaces) is a number; <= 0 it is not (negative: some prefix is). Bit 1 (value 2) is set when
 * the text has a decimal point or an exponent, bit 2 (4) when the value is exactly zero.
 */
export interface AtofResult {
  value: number;
  rc: number;
}

/** 10^0 .. 10^22: exactly representable doubles (the fast path of atof). */
const EXACT_POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** Below this a mantissa taking another digit stays an exact integer in a double (< 2^53). */
const SMALL_LIMIT = 900719925474099;

/**
 * Text to REAL the way sqlite3AtoF does it (the text ends at its first NUL, if any).
 *
 * The mantissa is gathered in a double while it is below 2^53 (no bigint per digit) and in a
 * bigint past that. A mantissa below 2^53 with a decimal exponent within +-22 is converted
 * with one multiplication or division by the exact power of ten: the exact result rounded
 * once, which is the double nearest it, as fp10Convert2 gives (Clinger's fast path).
 */
export function atof(text: string): AtofResult {
  const len = text.length;
  const at = (i: number): number => (i < len ? text.charCodeAt(i) : 0);
  let i = 0;
  let neg = false;
  // The mantissa: sn while small (s unused), s once big.
  let sn = 0;
  let big = false;
  let s = 0n;
  const push = (digit: number): void => {
    if (big) s = s * 10n + BigInt(digit);
    else if (sn < SMALL_LIMIT) sn = sn * 10 + digit;
    else {
      s = BigInt(sn) * 10n + BigInt(digit);
      big = true;
    }
  };
  let d = 0;
  let mState = 0;
  let c = at(i);
  while (isSpace(c)) c = at(++i);
  let intStart = -1;
  if (isDigit(c)) {
    intStart = i;
  } else if ((c === 0x2d || c === 0x2b) && isDigit(at(i + 1))) {
    neg = c === 0x2d;
    intStart = ++i;
  } else if (c === 0x2d || c === 0x2b) {
    neg = c === 0x2d;
    i++;
  }
  if (intStart >= 0) {
    mState = 1;
    push(at(i) - 0x30);
    i++;
    while (isDigit(at(i))) {
      push(at(i) - 0x30);
      i++;
      if (big && s >= MANTISSA_LIMIT) {
        mState = 9;
        while (isDigit(at(i))) {
          i++;
          d++;
        }
        break;
      }
    }
  }
  if (at(i) === 0x2e) {
    i++;
    if (isDigit(at(i))) {
      mState |= 1;
      do {
        if (!big || s < MANTISSA_LIMIT) {
          push(at(i) - 0x30);
          d--;
        } else {
          mState = 11;
        }
        i++;
      } while (isDigit(at(i)));
    } else if (mState === 0) {
      return { value: 0, rc: 0 };
    }
    mState |= 2;
  } else if (mState === 0) {
    return { value: 0, rc: 0 };
  }
  if (at(i) === 0x65 || at(i) === 0x45) {
    i++;
    let esign = 1;
    if (at(i) === 0x2d) {
      esign = -1;
      i++;
    } else if (at(i) === 0x2b) {
      i++;
    }
    if (isDigit(at(i))) {
      let exp = at(i) - 0x30;
      i++;
      mState |= 2;
      while (isDigit(at(i))) {
        exp = exp < 10000 ? exp * 10 + (at(i) - 0x30) : 10000;
        i++;
      }
      d += esign * exp;
    } else {
      i--;
    }
  }
  let value: number;
  if (big ? s === 0n : sn === 0) {
    value = 0;
    mState |= 4;
  } else if (big) {
    value = fp10Convert2(s, d);
  } else if (d >= 0 && d <= 22) {
    value = sn * EXACT_POW10[d];
  } else if (d < 0 && d >= -22) {
    value = sn / EXACT_POW10[-d];
  } else {
    value = fp10Convert2(BigInt(sn), d);
  }
  if (neg) value = -value;
  if (at(i) === 0) return { value, rc: mState };
  if (isSpace(at(i))) {
    do i++;
    while (isSpace(at(i)));
    if (at(i) === 0) return { value, rc: mState };
  }
  return { value, rc: (0xfffffff0 | mState) | 0 };
}

// ---- TEXT -> INTEGER -----------------------------------------------------------------------

export const LARGEST_INT64 = 0x7fffffffffffffffn;
export const SMALLEST_INT64 = -0x8000000000000000n;

/**
 * Result of {@link atoi64}, like sqlite3Atoi64: rc 0 = an integer that fits, 1 = fits but
 * followed by non-space text, 2 = too large (value clamped), 3 = exactly 9223372036854775808
 * (clamped to LARGEST), -1 = no digits at all.
 */
export interface Atoi64Result {
  value: bigint;
  rc: number;
}

/** Text to a 64-bit integer the way sqlite3Atoi64 does (the whole string counts, NULs too). */
export function atoi64(text: string): Atoi64Result {
  const len = text.length;
  let i = 0;
  let neg = false;
  while (i < len && isSpace(text.charCodeAt(i))) i++;
  if (i < len) {
    const c = text.charCodeAt(i);
    if (c === 0x2d) {
      neg = true;
      i++;
    } else if (c === 0x2b) {
      i++;
    }
  }
  const start = i;
  while (i < len && text.charCodeAt(i) === 0x30) i++;
  const digitsStart = i;
  let u = 0n;
  while (i < len && isDigit(text.charCodeAt(i))) {
    u = u * 10n + BigInt(text.charCodeAt(i) - 0x30);
    i++;
  }
  const nDigits = i - digitsStart;
  let value: bigint;
  if (u > LARGEST_INT64) value = neg ? SMALLEST_INT64 : LARGEST_INT64;
  else value = neg ? -u : u;
  let rc = 0;
  if (nDigits === 0 && start === digitsStart) {
    rc = -1;
  } else if (i < len) {
    for (let j = i; j < len; j++) {
      if (!isSpace(text.charCodeAt(j))) {
        rc = 1;
        break;
      }
    }
  }
  if (nDigits < 19) return { value, rc };
  // 19 or more digits: compare with 2^63.
  const cmp = nDigits > 19 ? 1 : u < 9223372036854775808n ? -1 : u === 9223372036854775808n ? 0 : 1;
  if (cmp < 0) return { value, rc };
  value = neg ? SMALLEST_INT64 : LARGEST_INT64;
  if (cmp > 0) return { value, rc: 2 };
  return { value, rc: neg ? rc : 3 };
}

/**
 * An integer literal token (decimal, or hex 0x...) to int64, like sqlite3DecOrHexToI64:
 * rc 0 fits, 2 too big or malformed, 3 is 9223372036854775808. Hex wraps into the sign bit
 * (0xffffffffffffffff is -1).
 */
export function decOrHexToI64(text: string): Atoi64Result {
  if (text.length > 1 && text.charCodeAt(0) === 0x30 && (text.charCodeAt(1) | 0x20) === 0x78) {
    let i = 2;
    while (i < text.length && text.charCodeAt(i) === 0x30) i++;
    let k = i;
    let u = 0n;
    while (k < text.length && isHexDigit(text.charCodeAt(k))) {
      u = ((u << 4n) | BigInt(parseInt(text[k], 16))) & M64;
      k++;
    }
    const value = BigInt.asIntN(64, u);
    if (k - i > 16) return { value, rc: 2 };
    if (k < text.length) return { value, rc: 1 };
    return { value, rc: 0 };
  }
  return atoi64(text);
}

export function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

// ---- REAL -> TEXT --------------------------------------------------------------------------

interface Decoded {
  sign: '+' | '-';
  special: 0 | 1 | 2; // 1 infinity, 2 NaN
  digits: string; // significant digits, no trailing zeros
  iDP: number; // position of the decimal point relative to digits[0]
}

/** The decimal digits of a double rounded to 17 places the "%!.17g" way (sqlite3FpDecode). */
function fpDecode17(r: number): Decoded {
  const iRoundIn = 17;
  const mxRound = 20;
  let sign: '+' | '-' = '+';
  if (r < 0) {
    sign = '-';
    r = -r;
  } else if (r === 0 || Object.is(r, -0)) {
    return { sign: '+', special: 0, digits: '0', iDP: 1 };
  }
  if (!Number.isFinite(r)) {
    return { sign, special: Number.isNaN(r) ? 2 : 1, digits: '', iDP: 0 };
  }
  let v = doubleBits(r);
  let e = Number((v >> 52n) & 0x7ffn);
  v &= (1n << 52n) - 1n;
  if (e === 0) {
    const nn = 64 - bitLength(v);
    v <<= BigInt(nn);
    e = -1074 - nn;
  } else {
    v = (v << 11n) | BIT63;
    e -= 1086;
  }
  const [dv, exp] = fp2Convert10(v, e, 18);
  // z[] with one spare slot in front for a carry out of the top digit.
  const z: number[] = [0];
  for (const ch of dv.toString()) z.push(ch.charCodeAt(0));
  let zi = 1; // index of the first digit in z
  let n = z.length - 1;
  let iDP = n + exp;
  let iRound = iRoundIn;
  const Z = (k: number): number => z[zi + k];
  if (iRound > 0 && (iRound < n || n > mxRound)) {
    if (iRound > mxRound) iRound = mxRound;
    if (iRound === 17) {
      if (Z(15) === 0x39 && Z(14) === 0x39) {
        let jj = 14;
        while (jj > 0 && Z(jj - 1) === 0x39) jj--;
        let v2: bigint;
        if (jj === 0) {
          v2 = 1n;
        } else {
          v2 = 0n;
          for (let kk = 0; kk < jj; kk++) v2 = v2 * 10n + BigInt(Z(kk) - 0x30);
          v2++;
        }
        if (r === fp10Convert2(v2, exp + n - jj)) iRound = jj + 1;
      } else if (iDP >= n || (Z(15) === 0x30 && Z(14) === 0x30 && Z(13) === 0x30)) {
        let jj = 13;
        while (Z(jj - 1) === 0x30) jj--;
        let v2 = 0n;
        for (let kk = 0; kk < jj; kk++) v2 = v2 * 10n + BigInt(Z(kk) - 0x30);
        if (r === fp10Convert2(v2, exp + n - jj)) iRound = jj + 1;
      }
    }
    n = iRound;
    if (Z(iRound) >= 0x35) {
      let j = iRound - 1;
      for (;;) {
        z[zi + j]++;
        if (Z(j) <= 0x39) break;
        z[zi + j] = 0x30;
        if (j === 0) {
          zi--;
          z[zi] = 0x31;
          n++;
          iDP++;
          break;
        }
        j--;
      }
    }
  }
  while (Z(n - 1) === 0x30) n--;
  let digits = '';
  for (let k = 0; k < n; k++) digits += String.fromCharCode(Z(k));
  return { sign, special: 0, digits, iDP };
}

/**
 * A REAL rendered as TEXT the way SQLite does when it converts a value (TEXT affinity,
 * CAST, concatenation): sqlite3_str_appendf("%!.17g"). Always shows a decimal point or an
 * exponent: 1.0, 0.1, 1.0e+100, 1.0e-05, 0.33333333333333332, Inf, -Inf, NaN.
 */
export function realToText(r: number): string {
  const s = fpDecode17(r);
  if (s.special === 2) return 'NaN';
  if (s.special === 1) return s.sign === '-' ? '-Inf' : 'Inf';
  let out = s.sign === '-' ? '-' : '';
  const exp = s.iDP - 1;
  let precision = 16;
  let useExp: boolean;
  if (exp < -4 || exp > precision) {
    useExp = true;
  } else {
    precision -= exp;
    useExp = false;
  }
  let e2 = useExp ? 0 : s.iDP - 1;
  const n = s.digits.length;
  let j = 0;
  if (e2 < 0) {
    out += '0';
  } else {
    j = Math.min(e2 + 1, n);
    out += s.digits.slice(0, j);
    e2 -= j;
    if (e2 >= 0) {
      out += '0'.repeat(e2 + 1);
      e2 = -1;
    }
  }
  out += '.';
  if (e2 < -1 && precision > 0) {
    const nn = Math.min(-1 - e2, precision);
    out += '0'.repeat(nn);
    precision -= nn;
  }
  if (precision > 0) {
    const nn = Math.min(n - j, precision);
    if (nn > 0) out += s.digits.slice(j, j + nn);
  }
  // Remove trailing zeros, but keep one digit after the point ("!" flag).
  let end = out.length;
  while (out.charCodeAt(end - 1) === 0x30) end--;
  out = out.slice(0, end);
  if (out.endsWith('.')) out += '0';
  if (useExp) {
    let x = s.iDP - 1;
    out += 'e';
    if (x < 0) {
      out += '-';
      x = -x;
    } else {
      out += '+';
    }
    out += x < 10 ? '0' + x : String(x);
  }
  return out;
}

/** An int64 as TEXT (sqlite3Int64ToText). */
export function intToText(v: number | bigint): string {
  return typeof v === 'bigint' ? v.toString() : String(v);
}

/**
 * A HyperLogLog distinct-count sketch (precision 14: 16,384 one-byte registers, 16 KiB), the
 * same precision Redis uses. Standard error 1.04/sqrt(16384) = 0.81%; counts are read with
 * Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog sketches",
 * 2017), which Redis also uses and which has no bias bump between small and large counts.
 * Small counts are nearly exact (a few hundred users read back exactly in practice).
 */

const P = 14;
/** Number of registers. */
export const HLL_REGISTERS = 1 << P;
/** Hash bits left after the register index (32-bit hash). */
const Q = 32 - P;
const ALPHA_INF = 0.5 / Math.LN2;

/**
 * MurmurHash3 (x86, 32-bit) of the string's UTF-16 code units. Well mixed, allocation-free and
 * about 1 ns per character, so hashing a user id costs less than formatting it would.
 */
export function hash32(s: string): number {
  let h = 0x9747b28c;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    let k = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) {
    let k = s.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n * 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  let previous: number;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (previous !== z);
  return z;
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let previous: number;
  do {
    x = Math.sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
  } while (previous !== z);
  return z / 3;
}

/** Ertl's estimate from a histogram of register values (index = value, 0..Q+1). */
function estimate(histogram: Float64Array): number {
  const m = HLL_REGISTERS;
  let z = m * tau(1 - histogram[Q + 1]! / m);
  for (let k = Q; k >= 1; k--) {
    z += histogram[k]!;
    z *= 0.5;
  }
  z += m * sigma(histogram[0]! / m);
  return (ALPHA_INF * m * m) / z;
}

/** One sketch. */
export class HyperLogLog {
  readonly registers = new Uint8Array(HLL_REGISTERS);

  /** Adds a 32-bit hash (from {@link hash32}). */
  add(hash: number): void {
    const index = hash >>> Q;
    const rest = (hash << P) | 0;
    const rank = (rest === 0 ? Q : Math.min(Math.clz32(rest), Q)) + 1;
    if (rank > this.registers[index]!) this.registers[index] = rank;
  }

  clear(): void {
    this.registers.fill(0);
  }

  /** Estimated number of distinct hashes added. */
  count(): number {
    return HyperLogLog.countUnion([this]);
  }

  /** Estimated number of distinct hashes added to any of `sketches` (without merging them). */
  static countUnion(sketches: readonly HyperLogLog[]): number {
    const histogram = new Float64Array(Q + 2);
    if (sketches.length === 0) return 0;
    for (let j = 0; j < HLL_REGISTERS; j++) {
      let max = 0;
      for (const sketch of sketches) {
        const r = sketch.registers[j]!;
        if (r > max) max = r;
      }
      histogram[max]!++;
    }
    return estimate(histogram);
  }
}

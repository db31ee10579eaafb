/**
 * Prometheus native histograms (BIZMON_NATIVE_HISTOGRAMS=true): next to the contract's classic
 * buckets, each histogram series also counts its observations in sparse exponential buckets,
 * exposed only in the protobuf format, as prometheus/client_golang does.
 *
 * Buckets follow the native histogram spec (client_model metrics.proto): at schema `s`, bucket
 * `k` holds the values in (2^((k-1)/2^s), 2^(k/2^s)], so each power of two is split into 2^s
 * buckets; values at or below the zero threshold go to the zero bucket. The choices:
 *
 * - Schema 3 (8 buckets per power of two, each at most 9.05 % wider than the one before): what
 *   client_golang picks for its recommended bucket factor 1.1.
 * - Zero threshold 2^-128, client_golang's default (a bucket boundary at every schema). bizmon
 *   records no negative values (they are dropped and counted), so only positive buckets exist.
 * - At most {@link NATIVE_HISTOGRAM_MAX_BUCKETS} buckets from the lowest to the highest
 *   observed one: a series whose observations spread wider halves its resolution (schema - 1,
 *   each pair of buckets merged, down to schema -4) until they fit, as client_golang does past
 *   its NativeHistogramMaxBucketNumber and the OpenTelemetry SDK past its max_size of 160. The
 *   resolution is not raised again for the life of the series. Memory per series is therefore
 *   bounded: one array of at most 160 numbers.
 *
 * The hot path: the bucket index comes from the value's IEEE 754 exponent, read through a
 * typed-array view (what Go's math.Frexp does), and a binary search of the 8 schema-3 bounds
 * within the power of two — client_golang's algorithm, with its bounds table — instead of a
 * logarithm per call. A series allocates its bucket array on its first non-zero observation and
 * again only when an observation falls outside the range it covers.
 */

/** The schema every series starts at (8 buckets per power of two). */
export const NATIVE_HISTOGRAM_SCHEMA = 3;

/** Observations at or below this go to the zero bucket: 2^-128, client_golang's default. */
export const NATIVE_HISTOGRAM_ZERO_THRESHOLD = 2 ** -128;

/** Most buckets, from the lowest to the highest populated, before the resolution halves. */
export const NATIVE_HISTOGRAM_MAX_BUCKETS = 160;

/** The lowest schema the spec allows (each bucket 2^16 times as wide as the one before). */
export const NATIVE_HISTOGRAM_MIN_SCHEMA = -4;

/**
 * Upper bounds, as fractions of the power of two, of the 8 schema-3 buckets of one power of two
 * (2^(i/8 - 1)): client_golang's nativeHistogramBounds[3], so values on a boundary fall into
 * the same bucket as there.
 */
const BOUNDS: readonly number[] = [
  0.5, 0.5452538663326288, 0.5946035575013605, 0.6484197773255048, 0.7071067811865475,
  0.7711054127039704, 0.8408964152537144, 0.9170040432046711,
];
const B1 = BOUNDS[1]!;
const B2 = BOUNDS[2]!;
const B3 = BOUNDS[3]!;
const B4 = BOUNDS[4]!;
const B5 = BOUNDS[5]!;
const B6 = BOUNDS[6]!;
const B7 = BOUNDS[7]!;

// One double and its two 32-bit halves: writing a value and reading the high word gives its
// exponent, and rewriting the exponent gives its fraction, without Math.log2.
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
/** Index of the high (sign and exponent) word: 1 on little-endian machines. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * The schema-3 bucket index of `value`: the `k` with 2^((k-1)/8) < value <= 2^(k/8). For a
 * finite value above the zero threshold (so a normal double); the caller checks that.
 */
export function schema3Key(value: number): number {
  F64[0] = value;
  const hi = U32[HI]!;
  // value = frac * 2^exp with frac in [0.5, 1), as math.Frexp returns them.
  const exp = ((hi >>> 20) & 0x7ff) - 1022;
  U32[HI] = (hi & 0x800fffff) | 0x3fe00000;
  const frac = F64[0];
  // The first bound >= frac (sort.SearchFloat64s), as three comparisons.
  let i: number;
  if (frac <= B4) {
    if (frac <= B2) i = frac <= B1 ? (frac <= 0.5 ? 0 : 1) : 2;
    else i = frac <= B3 ? 3 : 4;
  } else if (frac <= B6) i = frac <= B5 ? 5 : 6;
  else i = frac <= B7 ? 7 : 8;
  return i + (exp - 1) * 8;
}

/** `key` at a schema `steps` lower: each step merges buckets 2j-1 and 2j into j (ceil(key/2)). */
export function lowerKey(key: number, steps: number): number {
  return 0 - (-key >> steps); // not -(…): -0 for key 0
}

/**
 * A native histogram's buckets as the exposition reads them: `counts[i]` is the count of
 * positive bucket `offset + i` at `schema` (zero for an empty bucket in between).
 */
export interface NativeHistogramData {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  readonly offset: number;
  readonly counts: readonly number[];
}

const NO_COUNTS: readonly number[] = Object.freeze([]);

/** The native buckets of one histogram series (see the module comment). */
export class NativeBuckets implements NativeHistogramData {
  schema = NATIVE_HISTOGRAM_SCHEMA;
  readonly zeroThreshold = NATIVE_HISTOGRAM_ZERO_THRESHOLD;
  zeroCount = 0;
  /** Key of counts[0]. */
  offset = 0;
  counts: number[] = NO_COUNTS as number[];

  /** Counts a finite, non-negative value (the caller has validated it). */
  observe(value: number): void {
    if (value <= NATIVE_HISTOGRAM_ZERO_THRESHOLD) {
      this.zeroCount++;
      return;
    }
    let key = schema3Key(value);
    if (this.schema !== NATIVE_HISTOGRAM_SCHEMA) {
      key = lowerKey(key, NATIVE_HISTOGRAM_SCHEMA - this.schema);
    }
    const i = key - this.offset;
    if (i >= 0 && i < this.counts.length) this.counts[i]!++;
    else this.widen(key);
  }

  /** Makes room for `key` (lowering the resolution when the range outgrows the limit) and counts it. */
  private widen(key: number): void {
    const counts = this.counts;
    if (counts.length === 0) {
      this.offset = key;
      this.counts = [1];
      return;
    }
    let low = Math.min(this.offset, key);
    let high = Math.max(this.offset + counts.length - 1, key);
    let steps = 0;
    while (
      high - low + 1 > NATIVE_HISTOGRAM_MAX_BUCKETS &&
      this.schema - steps > NATIVE_HISTOGRAM_MIN_SCHEMA
    ) {
      steps++;
      low = lowerKey(low, 1);
      high = lowerKey(high, 1);
    }
    // Pushed rather than `new Array(n)`, so the array stays packed (faster element access).
    const wider: number[] = [];
    for (let i = low; i <= high; i++) wider.push(0);
    for (let i = 0; i < counts.length; i++) {
      wider[lowerKey(this.offset + i, steps) - low]! += counts[i]!;
    }
    wider[lowerKey(key, steps) - low]!++;
    this.schema -= steps;
    this.offset = low;
    this.counts = wider;
  }
}

/**
 * The positive spans and deltas that encode `data`'s buckets, written into `spans` (offset,
 * length pairs) and `deltas`, both cleared first. As client_golang's makeBuckets: empty buckets
 * are left out, except that a gap of one or two buckets is filled with empty ones rather than
 * starting a new span; each delta is a bucket's count minus the previous bucket's.
 */
export function nativeSpans(data: NativeHistogramData, spans: number[], deltas: number[]): void {
  spans.length = 0;
  deltas.length = 0;
  const counts = data.counts;
  let previous = 0;
  let next = 0; // key after the last bucket written
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!;
    if (count === 0) continue;
    const key = data.offset + i;
    const gap = key - next;
    if (spans.length === 0 || gap > 2) {
      spans.push(spans.length === 0 ? key : gap, 0);
    } else {
      for (let j = 0; j < gap; j++) {
        spans[spans.length - 1]!++;
        deltas.push(0 - previous); // not -previous: -0 for an empty bucket after one
        previous = 0;
      }
    }
    spans[spans.length - 1]!++;
    deltas.push(count - previous);
    previous = count;
    next = key + 1;
  }
}

/** What a series without observations exposes while native histograms are on. */
export const EMPTY_NATIVE_HISTOGRAM: NativeHistogramData = Object.freeze({
  schema: NATIVE_HISTOGRAM_SCHEMA,
  zeroThreshold: NATIVE_HISTOGRAM_ZERO_THRESHOLD,
  zeroCount: 0,
  offset: 0,
  counts: NO_COUNTS,
});

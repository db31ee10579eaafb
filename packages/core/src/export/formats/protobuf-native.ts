import { nativeSpans, type NativeHistogramData } from '../../model/native-histogram';
import { tag, varintSize, WIRE_VARINT, type ProtoWriter } from './proto-writer';

/**
 * The native part of an io.prometheus.client.Histogram message (client_model metrics.proto):
 *
 *   schema 5 (sint32), zero_threshold 6 (double), zero_count 7 (uint64),
 *   positive_span 12 (BucketSpan: offset 1 sint32, length 2 uint32), positive_delta 13 (sint64)
 *
 * Negative buckets (fields 9 and 10) are never written: bizmon drops negative observations.
 * Repeated deltas are written unpacked, one tag each, as proto2 declares them and Go's
 * encoder writes them. zero_threshold is always written and is above 0, which is what makes
 * Prometheus 2.42 read the family as native even before a series has observations (it
 * decides from the family's first series).
 */

const HISTOGRAM_SCHEMA = 5;
const HISTOGRAM_ZERO_THRESHOLD = 6;
const HISTOGRAM_ZERO_COUNT = 7;
const HISTOGRAM_POSITIVE_SPAN = 12;
const HISTOGRAM_POSITIVE_DELTA = 13;
const SPAN_OFFSET = 1;
const SPAN_LENGTH = 2;

/** ZigZag encoding of a signed integer (sint32/sint64), for integers up to 2^52 in size. */
export function zigzag(n: number): number {
  return n >= 0 ? 2 * n : -2 * n - 1;
}

/** Spans (offset, length pairs) and deltas of the series being encoded; reused, not reallocated. */
const spans: number[] = [];
const deltas: number[] = [];

function spanSize(offset: number, length: number): number {
  return 2 + varintSize(zigzag(offset)) + varintSize(length);
}

/**
 * Prepares `data`'s spans and deltas and returns how many bytes writeNativeFields will write;
 * call writeNativeFields with the same data before preparing another.
 */
export function prepareNativeFields(data: NativeHistogramData): number {
  nativeSpans(data, spans, deltas);
  let size = 1 + varintSize(zigzag(data.schema)) + 9 + 1 + varintSize(data.zeroCount);
  for (let i = 0; i < spans.length; i += 2) {
    const inner = spanSize(spans[i]!, spans[i + 1]!);
    size += 1 + varintSize(inner) + inner;
  }
  for (const delta of deltas) size += 1 + varintSize(zigzag(delta));
  return size;
}

/** Writes the native fields of the data last given to prepareNativeFields. */
export function writeNativeFields(w: ProtoWriter, data: NativeHistogramData): void {
  w.varintField(HISTOGRAM_SCHEMA, zigzag(data.schema));
  w.doubleField(HISTOGRAM_ZERO_THRESHOLD, data.zeroThreshold);
  w.varintField(HISTOGRAM_ZERO_COUNT, data.zeroCount);
  for (let i = 0; i < spans.length; i += 2) {
    const offset = spans[i]!;
    const length = spans[i + 1]!;
    w.messageHeader(HISTOGRAM_POSITIVE_SPAN, spanSize(offset, length));
    w.varintField(SPAN_OFFSET, zigzag(offset));
    w.varintField(SPAN_LENGTH, length);
  }
  const deltaTag = tag(HISTOGRAM_POSITIVE_DELTA, WIRE_VARINT);
  for (const delta of deltas) {
    w.byte(deltaTag);
    w.varint(zigzag(delta));
  }
}

import {
  createdAtMs,
  type CounterData,
  type GaugeData,
  type FamilyData,
  type HistogramData,
  type SeriesBase,
} from '../../model/registry';
import { EMPTY_NATIVE_HISTOGRAM, type NativeHistogramData } from '../../model/native-histogram';
import { state } from '../../base/state';
import type { Exemplar } from '../../model/exemplars';
import type { ParsedFamily } from './families';
import { prepareNativeFields, writeNativeFields } from './protobuf-native';
import { delimitedSize, ProtoWriter, tag, varintSize, WIRE_VARINT } from './proto-writer';
import { walkRegistry, type AnyFamily, type RegistryEncoder } from './walk-registry';

/**
 * The Prometheus protobuf exposition (`application/vnd.google.protobuf;
 * proto=io.prometheus.client.MetricFamily; encoding=delimited`): one io.prometheus.client
 * MetricFamily message per family, each preceded by its length as a varint. Field numbers are
 * those of prometheus/client_model's metrics.proto (proto2):
 *
 *   MetricFamily: name 1, help 2, type 3 (COUNTER 0, GAUGE 1, UNTYPED 3, HISTOGRAM 4), metric 4
 *   Metric: label 1 (LabelPair: name 1, value 2), gauge 2, counter 3, untyped 5, histogram 7
 *   Counter: value 1, created_timestamp 3;  Gauge / Untyped: value 1
 *   Histogram: sample_count 1, sample_sum 2, bucket 3 (cumulative_count 1, upper_bound 2,
 *     exemplar 3), created_timestamp 15;  google.protobuf.Timestamp: seconds 1, nanos 2
 *   Exemplar: label 1 (LabelPair), value 2, timestamp 3
 *
 * Buckets are classic ones, without the +Inf bucket (sample_count is its count, as
 * client_golang writes it); Prometheus ingests them as `_bucket`/`_count`/`_sum` series. With
 * BIZMON_NATIVE_HISTOGRAMS=true a histogram also carries its native buckets
 * (protobuf-native.ts). A bucket carries its exemplar (exemplars.ts); a +Inf bucket is written only to carry one, as
 * client_golang does.
 * A family's length must precede it, so each family is encoded whole before it is handed out;
 * a counter's or gauge's Metric bytes (a histogram's label bytes) are built on its first scrape
 * and kept on the series.
 */

const METRIC_TYPE = { counter: 0, gauge: 1, untyped: 3, histogram: 4 } as const;

// Field numbers (see above).
const FAMILY_NAME = 1;
const FAMILY_HELP = 2;
const FAMILY_TYPE = 3;
const FAMILY_METRIC = 4;
const METRIC_LABEL = 1;
const METRIC_GAUGE = 2;
const METRIC_COUNTER = 3;
const METRIC_UNTYPED = 5;
const METRIC_HISTOGRAM = 7;
const LABEL_NAME = 1;
const LABEL_VALUE = 2;
const VALUE = 1;
const COUNTER_CREATED = 3;
const HISTOGRAM_COUNT = 1;
const HISTOGRAM_SUM = 2;
const HISTOGRAM_BUCKET = 3;
const HISTOGRAM_CREATED = 15;
const BUCKET_COUNT = 1;
const BUCKET_BOUND = 2;
const BUCKET_EXEMPLAR = 3;
const EXEMPLAR_LABEL = 1;
const EXEMPLAR_VALUE = 2;
const EXEMPLAR_TIMESTAMP = 3;
const TIMESTAMP_SECONDS = 1;
const TIMESTAMP_NANOS = 2;

/** Writes the LabelPair fields of a list of label pairs, as Metric.label entries. */
function writeLabelPairs(
  w: ProtoWriter,
  names: readonly string[],
  values: readonly string[],
): void {
  for (let i = 0; i < values.length; i++) {
    const name = names[i]!;
    const value = values[i]!;
    const nameBytes = Buffer.byteLength(name);
    const valueBytes = Buffer.byteLength(value);
    w.messageHeader(METRIC_LABEL, delimitedSize(nameBytes) + delimitedSize(valueBytes));
    w.stringField(LABEL_NAME, name);
    w.stringField(LABEL_VALUE, value);
  }
}

/** The LabelPair fields of a list of label pairs, one char per byte (see ProtoWriter.binary). */
export function encodeLabelPairs(names: readonly string[], values: readonly string[]): string {
  const w = new ProtoWriter(64);
  writeLabelPairs(w, names, values);
  return w.binaryString();
}

/** A histogram series' LabelPair fields, built on its first scrape. */
function cachedLabels(names: readonly string[], series: SeriesBase): string {
  return (series.protobufBytes ??= encodeLabelPairs(names, series.labelValues));
}

/**
 * A counter's or gauge's whole Metric message, built on its first scrape: only its value (the
 * last 8 bytes) changes between scrapes, so a scrape copies it and writes the value.
 */
function cachedValueMetric(
  names: readonly string[],
  series: SeriesBase,
  field: number,
  createdMs?: number,
): string {
  let bytes = series.protobufBytes;
  if (bytes === undefined) {
    const w = new ProtoWriter(128);
    writeValueMetric(w, encodeLabelPairs(names, series.labelValues), field, 0, createdMs);
    bytes = series.protobufBytes = w.binaryString();
  }
  return bytes;
}

/** Size of a google.protobuf.Timestamp message's fields (nanos left out when 0). */
function timestampSize(seconds: number, nanos: number): number {
  return 1 + varintSize(seconds) + (nanos === 0 ? 0 : 1 + varintSize(nanos));
}

function writeTimestamp(w: ProtoWriter, field: number, ms: number): void {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round(ms - seconds * 1000) * 1_000_000;
  w.messageHeader(field, timestampSize(seconds, nanos));
  w.varintField(TIMESTAMP_SECONDS, seconds);
  if (nanos !== 0) w.varintField(TIMESTAMP_NANOS, nanos);
}

function createdFieldSize(ms: number): number {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round(ms - seconds * 1000) * 1_000_000;
  return delimitedSize(timestampSize(seconds, nanos));
}

/** Writes a Metric with a single-value message (Counter, Gauge, Untyped) in `field`. */
function writeValueMetric(
  w: ProtoWriter,
  labels: string,
  field: number,
  value: number,
  createdMs?: number,
): void {
  const created = createdMs === undefined ? 0 : createdFieldSize(createdMs);
  const inner = 9 + created;
  w.messageHeader(FAMILY_METRIC, labels.length + delimitedSize(inner));
  w.binary(labels);
  w.messageHeader(field, inner);
  // The value last (field order is free in protobuf): see cachedValueMetric.
  if (createdMs !== undefined) writeTimestamp(w, COUNTER_CREATED, createdMs);
  w.doubleField(VALUE, value);
}

/** Size of a LabelPair message with ASCII name and value (exemplar ids are hex). */
function asciiPairSize(name: string, value: string): number {
  return delimitedSize(name.length) + delimitedSize(value.length);
}

/** Size of an Exemplar message's fields: labels trace_id and span_id, value, timestamp. */
function exemplarSize(e: Exemplar): number {
  return (
    delimitedSize(asciiPairSize('trace_id', e.traceId)) +
    delimitedSize(asciiPairSize('span_id', e.spanId)) +
    9 +
    createdFieldSize(e.timestampMs)
  );
}

function writeExemplar(w: ProtoWriter, e: Exemplar): void {
  w.messageHeader(BUCKET_EXEMPLAR, exemplarSize(e));
  w.messageHeader(EXEMPLAR_LABEL, asciiPairSize('trace_id', e.traceId));
  w.stringField(LABEL_NAME, 'trace_id');
  w.stringField(LABEL_VALUE, e.traceId);
  w.messageHeader(EXEMPLAR_LABEL, asciiPairSize('span_id', e.spanId));
  w.stringField(LABEL_NAME, 'span_id');
  w.stringField(LABEL_VALUE, e.spanId);
  w.doubleField(EXEMPLAR_VALUE, e.value);
  writeTimestamp(w, EXEMPLAR_TIMESTAMP, e.timestampMs);
}

/** Size of a Bucket message's fields, with its exemplar if any. */
function bucketSize(cumulative: number, exemplar: Exemplar | undefined): number {
  return (
    1 +
    varintSize(cumulative) +
    9 +
    (exemplar === undefined ? 0 : delimitedSize(exemplarSize(exemplar)))
  );
}

function writeBucket(
  w: ProtoWriter,
  cumulative: number,
  bound: number,
  exemplar: Exemplar | undefined,
): void {
  w.messageHeader(HISTOGRAM_BUCKET, bucketSize(cumulative, exemplar));
  w.varintField(BUCKET_COUNT, cumulative);
  w.doubleField(BUCKET_BOUND, bound);
  if (exemplar !== undefined) writeExemplar(w, exemplar);
}

/**
 * Writes a Metric holding a classic histogram (buckets without +Inf, unless the +Inf bucket has
 * an exemplar); `exemplars` has one slot per bucket, +Inf last.
 */
function writeHistogramMetric(
  w: ProtoWriter,
  labels: string,
  count: number,
  sum: number,
  bounds: readonly number[],
  cumulative: readonly number[],
  createdMs?: number,
  native?: NativeHistogramData,
  exemplars?: readonly (Exemplar | undefined)[],
): void {
  const infExemplar = exemplars?.[bounds.length];
  let buckets = 0;
  for (let i = 0; i < bounds.length; i++) {
    buckets += delimitedSize(bucketSize(cumulative[i]!, exemplars?.[i]));
  }
  if (infExemplar !== undefined) buckets += delimitedSize(bucketSize(count, infExemplar));
  const created = createdMs === undefined ? 0 : createdFieldSize(createdMs);
  const nativeSize = native === undefined ? 0 : prepareNativeFields(native);
  const inner = 1 + varintSize(count) + 9 + buckets + created + nativeSize;
  w.messageHeader(FAMILY_METRIC, labels.length + delimitedSize(inner));
  w.binary(labels);
  w.messageHeader(METRIC_HISTOGRAM, inner);
  w.varintField(HISTOGRAM_COUNT, count);
  w.doubleField(HISTOGRAM_SUM, sum);
  for (let i = 0; i < bounds.length; i++) {
    writeBucket(w, cumulative[i]!, bounds[i]!, exemplars?.[i]);
  }
  if (infExemplar !== undefined) writeBucket(w, count, Infinity, infExemplar);
  if (createdMs !== undefined) writeTimestamp(w, HISTOGRAM_CREATED, createdMs);
  if (native !== undefined) writeNativeFields(w, native);
}

/** A family's length prefix and name, help and type fields; its metrics follow. */
function familyHead(name: string, help: string, type: number, metricsLength: number): Buffer {
  const nameBytes = Buffer.byteLength(name);
  const helpBytes = Buffer.byteLength(help);
  const length =
    delimitedSize(nameBytes) + delimitedSize(helpBytes) + 1 + varintSize(type) + metricsLength;
  const w = new ProtoWriter(16 + nameBytes + helpBytes);
  w.varint(length);
  w.stringField(FAMILY_NAME, name);
  w.stringField(FAMILY_HELP, help);
  w.byte(tag(FAMILY_TYPE, WIRE_VARINT));
  w.varint(type);
  return w.finish();
}

/** The protobuf encoder of bizmon's families: each family handed out whole, once ended. */
class ProtobufEncoder implements RegistryEncoder<Uint8Array> {
  private family: AnyFamily | undefined;
  private metrics = new ProtoWriter();
  private headRoom = 0;
  private cumulative: number[] = [];
  private ready: Buffer[] = [];

  begin(family: AnyFamily): void {
    this.family = family;
    const { name, help, type } = family.spec;
    // Room for the family's length, name, help and type, written once its length is known.
    this.headRoom =
      5 + delimitedSize(Buffer.byteLength(name)) + delimitedSize(Buffer.byteLength(help)) + 2;
    // Sized for a typical series (labels, value, created timestamp), so a large family is
    // not copied over and over as the buffer doubles.
    const perSeries = type === 'histogram' ? 256 : 96;
    this.metrics = new ProtoWriter(this.headRoom + Math.max(1024, family.size * perSeries));
    this.metrics.skip(this.headRoom);
    if (type === 'histogram') {
      this.cumulative = new Array<number>(
        ((family as FamilyData<HistogramData>).spec.buckets ?? []).length,
      ).fill(0);
    }
  }

  counter(series: CounterData): void {
    const names = this.family!.spec.labelNames;
    const bytes =
      series.protobufBytes ?? cachedValueMetric(names, series, METRIC_COUNTER, createdAtMs(series));
    this.metrics.binaryEndingInDouble(bytes, series.value);
  }

  gauge(series: GaugeData): void {
    const names = this.family!.spec.labelNames;
    const bytes = series.protobufBytes ?? cachedValueMetric(names, series, METRIC_GAUGE);
    this.metrics.binaryEndingInDouble(bytes, series.value);
  }

  histogram(series: HistogramData): void {
    const labels = cachedLabels(this.family!.spec.labelNames, series);
    const cumulative = this.cumulative;
    const counts = series.counts;
    let running = 0;
    for (let i = 0; i < cumulative.length; i++) cumulative[i] = running += counts[i]!;
    const bounds = (this.family as FamilyData<HistogramData>).spec.buckets ?? [];
    const created = createdAtMs(series);
    writeHistogramMetric(
      this.metrics,
      labels,
      series.count,
      series.sum,
      bounds,
      cumulative,
      created,
      state.nativeHistograms ? (series.native ?? EMPTY_NATIVE_HISTOGRAM) : undefined,
      series.exemplars,
    );
  }

  end(): void {
    const { name, help, type } = this.family!.spec;
    const metricsLength = this.metrics.length - this.headRoom;
    const head = familyHead(name, help, METRIC_TYPE[type], metricsLength);
    this.ready.push(this.metrics.finishAfter(this.headRoom, head));
  }

  take(): Uint8Array | undefined {
    if (this.ready.length === 0) return undefined;
    const chunk = this.ready.length === 1 ? this.ready[0]! : Buffer.concat(this.ready);
    this.ready = [];
    return chunk;
  }
}

/** bizmon's families as delimited MetricFamily messages, chunk by chunk. */
export function protobufChunks(
  families?: Iterable<AnyFamily>,
): AsyncGenerator<Uint8Array, void, undefined> {
  return walkRegistry(new ProtobufEncoder(), families);
}

/**
 * Families parsed from the OpenTelemetry serializer's text (target_info, the app's own
 * instruments) as delimited MetricFamily messages.
 */
export function parsedFamiliesAsProtobuf(families: readonly ParsedFamily[]): Buffer {
  const out: Buffer[] = [];
  for (const family of families) {
    const w = new ProtoWriter(256);
    for (const s of family.series) {
      const labels = encodeLabelPairs(
        s.labels.map(([n]) => n),
        s.labels.map(([, v]) => v),
      );
      if (family.type === 'histogram') {
        const finite = s.buckets.filter(([le]) => le !== Infinity);
        const bounds = finite.map(([le]) => le);
        const counts = finite.map(([, count]) => count);
        writeHistogramMetric(w, labels, s.count, s.sum, bounds, counts);
      } else {
        const field =
          family.type === 'counter'
            ? METRIC_COUNTER
            : family.type === 'gauge'
              ? METRIC_GAUGE
              : METRIC_UNTYPED;
        writeValueMetric(w, labels, field, s.value);
      }
    }
    const metrics = w.finish();
    out.push(
      familyHead(family.name, family.help, METRIC_TYPE[family.type], metrics.length),
      metrics,
    );
  }
  return Buffer.concat(out);
}

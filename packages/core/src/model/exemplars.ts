import type * as Api from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';
import { state } from '../base/state';

/**
 * Exemplars: a histogram bucket remembers the trace and span of its latest observation, so a
 * dashboard can jump from a slow bucket to a trace. Only when the app traces with OpenTelemetry
 * and a sampled span is active; shown in OpenMetrics and protobuf, never in text 0.0.4 (which
 * has no syntax for them). BIZMON_EXEMPLARS=false turns them off.
 *
 * Cost: without an active span, `exemplarSpan()` is a context read and a Map miss, allocating
 * nothing; a series gets its exemplar slots only when its first exemplar arrives, and a slot,
 * once there, is overwritten in place (the ids are the span's own strings), so recording an
 * exemplar allocates nothing after the first per bucket. `npm run bench` measures both.
 */

/** One bucket's exemplar: labels `{trace_id, span_id}`, the observed value, when (wall clock). */
export interface Exemplar {
  /** 32 lowercase or uppercase hex digits, not all zero. */
  readonly traceId: string;
  /** 16 hex digits, not all zero. */
  readonly spanId: string;
  readonly value: number;
  /** Milliseconds since the epoch. */
  readonly timestampMs: number;
}

/** A histogram series' exemplars, one slot per bucket (+Inf last), empty until one arrives. */
export type ExemplarSlots = (Exemplar | undefined)[];

/** The mutable slot behind Exemplar, overwritten by each later exemplar of its bucket. */
interface Slot {
  traceId: string;
  spanId: string;
  value: number;
  timestampMs: number;
}

/**
 * OpenMetrics caps an exemplar's label set at 128 UTF-8 characters (names and values together).
 * `trace_id` + 32 hex + `span_id` + 16 hex is 63, and ids are validated before they are kept,
 * so every exemplar bizmon writes fits.
 */
export const EXEMPLAR_LABEL_CHARS = 'trace_id'.length + 32 + 'span_id'.length + 16;

/** Where every copy of @opentelemetry/api 1.x keeps its registered globals (global-utils.ts). */
const OTEL_API_KEY = Symbol.for('opentelemetry.js.api.1');

/** The OpenTelemetry API, required once a tracer provider is registered (see exemplarSpan). */
let api: typeof Api | undefined;

/**
 * The span context an observation made now should carry as its exemplar: the active span's,
 * when it is sampled (`traceFlags & SAMPLED`) with valid ids and exemplars are on; otherwise
 * undefined. The caller chooses the moment: HTTP reads it where the response ended (the
 * request's server span is active there when instrumentation-http runs the handler), the DB
 * instrumentation when the query is issued (its callback runs in the connection's context).
 * Never throws (an app's context manager is foreign code).
 */
export function exemplarSpan(): SpanContext | undefined {
  if (state.exemplars === false) return undefined;
  // No tracer provider registered: no span is sampled, and the API's context lookup (a global
  // read with a version check) is skipped. The key is the API's own, shared by every 1.x copy.
  if (
    (globalThis as Record<symbol, { trace?: unknown } | undefined>)[OTEL_API_KEY]?.trace ===
    undefined
  )
    return undefined;
  try {
    // Required here, once a tracer provider is registered (the app has loaded the API by then):
    // a service that does not trace never loads it (the preload's start-up budget).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    api ??= require('@opentelemetry/api') as typeof Api;
    const span = api.trace.getSpan(api.context.active());
    if (span === undefined) return undefined;
    const spanContext = span.spanContext();
    return (spanContext.traceFlags & api.TraceFlags.SAMPLED) !== 0 &&
      api.isSpanContextValid(spanContext)
      ? spanContext
      : undefined;
  } catch {
    return undefined;
  }
}

/** A histogram series of any copy of @bizmon/core: older copies' lack observeWithExemplar. */
interface ObservableSeries {
  observe(value: number): void;
  observeWithExemplar?(value: number, span: SpanContext | undefined): void;
}

/**
 * Observes `value` on a histogram series with `span` (exemplarSpan()) as its bucket's exemplar.
 * What @bizmon/http and @bizmon/db call rather than the series' method: the families are shared
 * by every copy of this package in the process (state.ts), and a series an older copy created
 * has no observeWithExemplar; it still gets the observation, without the exemplar.
 */
export function observeWithExemplar(
  series: ObservableSeries,
  value: number,
  span: SpanContext | undefined,
): void {
  if (span !== undefined && typeof series.observeWithExemplar === 'function')
    series.observeWithExemplar(value, span);
  else series.observe(value);
}

/** Series whose exemplars can be kept (HistogramSeries). */
interface ExemplarHolder {
  readonly boundaries: readonly number[];
  exemplars: ExemplarSlots | undefined;
}

/**
 * Keeps `span` as the exemplar of the bucket `value` falls in (the same bucket observe() counts
 * it in: the first bound at or above it, else +Inf). The caller has checked that `value` is a
 * finite non-negative number and that recording is on.
 */
export function keepExemplar(
  series: ExemplarHolder,
  value: number,
  span: SpanContext,
  timestampMs: number,
): void {
  const b = series.boundaries;
  let i = 0;
  while (i < b.length && value > b[i]!) i++;
  const slots = (series.exemplars ??= new Array<Exemplar | undefined>(b.length + 1).fill(
    undefined,
  ));
  const slot = slots[i] as Slot | undefined;
  if (slot === undefined) {
    slots[i] = { traceId: span.traceId, spanId: span.spanId, value, timestampMs };
  } else {
    slot.traceId = span.traceId;
    slot.spanId = span.spanId;
    slot.value = value;
    slot.timestampMs = timestampMs;
  }
}

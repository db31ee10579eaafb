import type { IncomingHttpHeaders } from 'node:http';
import type NegotiatorClass from 'negotiator';

/**
 * `negotiator` (with `content-type`), required at the first scrape: every process under the
 * preload pays what bizmon loads at start-up, about 1.7 MiB of it for these on Node 24.
 */
let Negotiator: typeof NegotiatorClass | undefined;

/**
 * Which exposition format and encoding `/metrics` answers with, chosen from the request's
 * `Accept` and `Accept-Encoding` the way Prometheus sends them (q-values and media-type
 * parameters). Parsing is the `negotiator` package's (the one Express and Koa use): it ranks by
 * q-value, then specificity, then our order, and matches a parameter such as `version=1.0.0`
 * only when the client names the same value.
 */

/** The exposition formats `/metrics` can answer in. */
export type ExpositionFormat = 'text' | 'openmetrics' | 'protobuf';

/** Content-Type of each format's response. */
export const EXPOSITION_CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = Object.freeze({
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
  protobuf:
    'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
});

/**
 * The media types offered, text first: it is the answer to no `Accept`, to `*\/*` and to an
 * `Accept` naming nothing we serve (Prometheus client libraries answer text then, not 406).
 * OpenMetrics 0.0.1 is not offered: a client asking only for it gets text.
 */
const OFFERED: readonly (readonly [string, ExpositionFormat])[] = [
  ['text/plain; version=0.0.4', 'text'],
  ['application/openmetrics-text; version=1.0.0', 'openmetrics'],
  [
    'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
    'protobuf',
  ],
];
const OFFERED_TYPES = OFFERED.map(([type]) => type);
const FORMAT_OF = new Map(OFFERED);

/** What a `/metrics` response is written as. */
export interface ExpositionChoice {
  readonly format: ExpositionFormat;
  readonly contentType: string;
  /** Whether the body is gzip-compressed (`Content-Encoding: gzip`). */
  readonly gzip: boolean;
}

/** Picks the format and encoding for a request's headers; never throws. */
export function negotiateExposition(headers: IncomingHttpHeaders): ExpositionChoice {
  let format: ExpositionFormat = 'text';
  let gzip = false;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    Negotiator ??= require('negotiator') as typeof NegotiatorClass;
    const negotiator = new Negotiator({ headers });
    const type = negotiator.mediaType(OFFERED_TYPES);
    format = (type !== undefined && FORMAT_OF.get(type)) || 'text';
    // identity first: `Accept-Encoding: *` or none leaves the body as it is.
    gzip = negotiator.encoding(['identity', 'gzip']) === 'gzip';
  } catch {
    // A header negotiator cannot read gets the defaults.
  }
  return { format, contentType: EXPOSITION_CONTENT_TYPES[format], gzip };
}

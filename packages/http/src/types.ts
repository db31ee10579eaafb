import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { AbuseDetectionOptions } from './abuse';

/**
 * Configuration of {@link BizmonHttpInstrumentation}. @bizmon/node builds it once from core's
 * resolved configuration (`BIZMON_HTTP_IGNORE`) and passes it to the instrumentation; an app
 * that registers the instrumentation itself passes its own, and may change it later with
 * `setConfig`.
 */
export interface BizmonHttpInstrumentationConfig extends InstrumentationConfig {
  /**
   * Path prefixes whose requests are not counted (`BIZMON_HTTP_IGNORE`, comma-separated): a
   * request whose URL starts with one of them leaves no trace in any HTTP metric. Empty strings
   * are ignored.
   * @default []
   */
  ignorePaths?: readonly string[];
  /**
   * Thresholds of the process's abuse detector (`abuseDetector`), merged over its current ones
   * when the instrumentation is constructed or reconfigured. Left out, the detector keeps what
   * it has (its defaults, or what the app set with `configureAbuseDetection`).
   * @default undefined (DEFAULT_ABUSE_DETECTION until changed)
   */
  abuseDetection?: AbuseDetectionOptions;
}

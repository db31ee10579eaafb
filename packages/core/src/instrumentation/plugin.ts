import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { BizmonConfig } from '../base/config';

/**
 * What a bizmon package contributes to start(): OpenTelemetry instrumentations to register
 * before the app loads its libraries, and work to start and stop with the exporter.
 * @bizmon/node runs every plugin; a plugin that throws is logged and skipped.
 */
export interface BizmonPlugin {
  /** Short name used in logs (`http`, `pg`, `ioredis`). */
  readonly name: string;
  /**
   * Packages the instrumentations patch (`pg`, `express`…). When given, @bizmon/node calls
   * `instrumentations()` only when the app first requires one of them, so that a process that
   * never loads them never loads OpenTelemetry's instrumentation framework (start-up cost).
   */
  readonly modules?: readonly string[];
  /**
   * Instrumentations to register; called synchronously, before the app loads any package in
   * `modules` (at start when `modules` is not given).
   */
  instrumentations?(config: BizmonConfig): Instrumentation[];
  /** Called right after recording starts, while the exporter's server is still starting. */
  start?(config: BizmonConfig): void | Promise<void>;
  /** Called by shutdown(). */
  shutdown?(): void | Promise<void>;
}

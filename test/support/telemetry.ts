/**
 * Test support: bizmon's pipeline started for the tests of one file, on a free loopback port,
 * with bizmon's stderr lines captured instead of printed.
 */
import { resolveConfig, startTelemetry, type BizmonOptions, type Telemetry } from '@bizmon/core';
import { expectMatchesCatalog, type Family } from './exposition';

export interface TestTelemetry {
  /** The running pipeline. */
  telemetry(): Telemetry;
  /** Scrapes and checks the exposition against the catalog. */
  scrape(): Promise<Map<string, Family>>;
  /** The raw exposition text. */
  text(): Promise<string>;
  /** Lines bizmon wrote to stderr since the start (or the last clearLog). */
  logged(): string[];
  clearLog(): void;
}

/** Starts telemetry before the file's tests and shuts it down after them. */
export function useTelemetry(options: BizmonOptions = {}): TestTelemetry {
  let telemetry: Telemetry | undefined;
  let stderr: jest.SpyInstance | undefined;
  beforeAll(async () => {
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    telemetry = await startTelemetry(
      resolveConfig({
        otelExporterPrometheusPort: 0,
        otelExporterPrometheusHost: '127.0.0.1',
        ...options,
      }),
    );
  });
  afterAll(async () => {
    await telemetry?.shutdown();
    stderr?.mockRestore();
  });
  return {
    telemetry: () => telemetry!,
    scrape: async () => expectMatchesCatalog(await telemetry!.scrape()),
    text: () => telemetry!.scrape(),
    logged: () => (stderr?.mock.calls ?? []).map((c: unknown[]) => String(c[0])),
    clearLog: () => stderr?.mockClear(),
  };
}

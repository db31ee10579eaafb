import { resolveConfig, startTelemetry, type Telemetry } from '@bizmon/core';
import { stopUserActivity } from '@bizmon/business';
import { expectMatchesCatalog, type Family } from '../../../test/support/exposition';

/** A started pipeline for the tests of one file (stderr silenced and recorded). */
export interface TestTelemetry {
  /** Scrapes and checks the exposition against the catalog. */
  scrape(): Promise<Map<string, Family>>;
  /** The raw exposition text. */
  text(): Promise<string>;
  /** Lines bizmon wrote to stderr. */
  logged(): string[];
}

/** Starts telemetry before the file's tests and shuts everything down after them. */
export function useTelemetry(): TestTelemetry {
  let telemetry: Telemetry | undefined;
  let stderr: jest.SpyInstance | undefined;
  beforeAll(async () => {
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    telemetry = await startTelemetry(
      resolveConfig({ otelExporterPrometheusPort: 0, otelExporterPrometheusHost: '127.0.0.1' }),
    );
  });
  afterAll(async () => {
    await stopUserActivity();
    await telemetry?.shutdown();
    stderr?.mockRestore();
  });
  return {
    scrape: async () => expectMatchesCatalog(await telemetry!.scrape()),
    text: () => telemetry!.scrape(),
    logged: () => (stderr?.mock.calls ?? []).map((c: unknown[]) => String(c[0])),
  };
}

/** The value of the first sample of `name` with these labels, or undefined (no sample). */
export function one(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return families
    .get(name)
    ?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

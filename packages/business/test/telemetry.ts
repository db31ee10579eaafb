import { stopUserActivity } from '@bizmon/business';
import {
  useTelemetry as useCoreTelemetry,
  type TestTelemetry,
} from '../../../test/support/telemetry';
import type { Family } from '../../../test/support/exposition';

/** The shared test pipeline, plus stopping user activity after the file's tests. */
export function useTelemetry(): TestTelemetry {
  afterAll(() => stopUserActivity());
  return useCoreTelemetry();
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

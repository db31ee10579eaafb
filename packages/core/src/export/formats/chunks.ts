import { registryChunks } from '../exposition';
import { parseTextFamilies } from './families';
import type { ExpositionFormat } from './negotiate';
import type { AnyFamily } from './walk-registry';
import { OPENMETRICS_EOF, openMetricsChunks, parsedFamiliesAsOpenMetrics } from './openmetrics';
import { parsedFamiliesAsProtobuf, protobufChunks } from './protobuf';

/**
 * A whole `/metrics` body in `format`, chunk by chunk: `sdkText` (target_info and the app's own
 * OpenTelemetry instruments, as the OpenTelemetry serializer writes them in text 0.0.4) first,
 * then bizmon's families straight from the registry. Text chunks are strings, protobuf chunks
 * bytes. `families` replace this process's own (a clustered service's merged families).
 */
export async function* formatChunks(
  format: ExpositionFormat,
  sdkText: string,
  families?: Iterable<AnyFamily>,
): AsyncGenerator<string | Uint8Array, void, undefined> {
  if (format === 'text') {
    yield sdkText;
    yield* registryChunks(families);
  } else if (format === 'openmetrics') {
    yield parsedFamiliesAsOpenMetrics(parseTextFamilies(sdkText));
    yield* openMetricsChunks(families);
    yield OPENMETRICS_EOF;
  } else {
    yield parsedFamiliesAsProtobuf(parseTextFamilies(sdkText));
    yield* protobufChunks(families);
  }
}

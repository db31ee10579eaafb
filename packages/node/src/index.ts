export { start, shutdown } from './start';
export { metricProducer } from './metric-producer';
export type { BizmonOptions, Telemetry } from '@bizmon/core';

export { start, shutdown } from './start';
export type { BizmonOptions, Telemetry } from '@bizmon/core';

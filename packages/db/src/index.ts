export { plugin } from './plugin';
export type { PgInstrumentationConfig } from './types';
export { parseStatement, type ParsedStatement } from './sql-analysis';

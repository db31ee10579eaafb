export { plugin } from './plugin';
export { parseStatement, type ParsedStatement } from './sql-analysis';

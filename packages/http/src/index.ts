export { setRequestUser, currentUserRole, type RequestUser } from './app-entry';
export { setRoute } from './request-state';
export { routeTemplate, isIdSegment, joinRoute, UNMATCHED } from './route-template';
export { onAuthenticatedRequest, recordLoginFailure, requestsInFlight } from './recorder';
export {
  AbuseDetector,
  abuseDetector,
  configureAbuseDetection,
  type AbuseDetection,
  type AbuseDetectionConfig,
  type AbuseDetectionOptions,
} from './abuse';
export {
  createMonitoringHandler,
  type MonitoringHandler,
  type MonitoringHandlerOptions,
  type KoaContextLike,
  type FastifyInstanceLike,
} from './monitoring';
export { BizmonHttpInstrumentation } from './frameworks';
export type { BizmonHttpInstrumentationConfig } from './types';

export { plugin } from './plugin';
export { setRequestUser, currentUserRole, type RequestUser } from './app-entry';
export { setRoute, RequestState } from './request-state';
export { routeTemplate, isIdSegment, joinRoute, UNMATCHED, ID_PLACEHOLDER } from './route-template';
export {
  onAuthenticatedRequest,
  recordLoginFailure,
  requestsInFlight,
  CLIENT_CLOSED_STATUS,
} from './recorder';
export {
  AbuseDetector,
  abuseDetector,
  configureAbuseDetection,
  DEFAULT_ABUSE_DETECTION,
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

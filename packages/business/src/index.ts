export { setRequestUser, currentUserRole, type RequestUser } from './app-entry';
export {
  aiTasks,
  monitorAiTask,
  type AiTaskFailure,
  type AiTaskLabels,
  type AiTaskSuccess,
  type MonitorAiTaskOptions,
} from './ai-tasks';
export {
  credits,
  monitorCreditsOperation,
  type CreditsConsumed,
  type CreditsPurchased,
  type CreditsRefunded,
} from './credits';
export { errors, type FileUploadFailure, type PaymentFailure } from './errors';
export {
  security,
  type ApiAbuse,
  type LoginFailure,
  type SecurityEvent,
  type SuspiciousAccess,
} from './security';
export { users, startUserActivity, stopUserActivity, type UserActivityOptions } from './users';
export type { FunctionMonitor } from './wrap';

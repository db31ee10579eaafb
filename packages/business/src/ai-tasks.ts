import { errorTypeOf, instruments, MAX_LABEL_VALUE_LENGTH } from '@bizmon/core';
import { inputFailed, modeOf, numberOf, roleOf } from './input';
import {
  functionMonitor,
  invoke,
  type AnyFunction,
  type CallMonitor,
  type FunctionMonitor,
} from './wrap';

/** Which AI task: the service (`midjourney`, `flux`, …), its mode and the user's role. */
export interface AiTaskLabels {
  /** AI service name; required (a task without one is dropped and counted). */
  service: string;
  /** Mode label of the duration histogram; default `default`. */
  mode?: string;
  /** Role label; default the current request's user role, else `anonymous`. */
  userRole?: string;
}

/** A finished task. */
export interface AiTaskSuccess extends AiTaskLabels {
  /** Processing time in seconds. */
  durationSeconds: number;
}

/** A failed task. */
export interface AiTaskFailure extends AiTaskLabels {
  /** Processing time in seconds until the failure, when known. */
  durationSeconds?: number;
  /** What failed; its class name becomes `error_type`. */
  error: unknown;
}

/**
 * Labels of `application_errors_total` for each service's failures (`ai_service_<service>`),
 * built once per service so a failure does not build a string. Bounded: past the cap the
 * string is built per call, which is correct, only slower.
 */
const componentNames = new Map<string, string>();
const MAX_COMPONENT_NAMES = 1000;

function componentOf(service: string): string {
  let name = componentNames.get(service);
  if (name === undefined) {
    name = `ai_service_${service}`;
    if (componentNames.size < MAX_COMPONENT_NAMES && name.length <= MAX_LABEL_VALUE_LENGTH)
      componentNames.set(service, name);
  }
  return name;
}

function recordSubmitted(service: string, role: string): void {
  instruments.ai_tasks_submitted_total.labels(service).add(1);
  instruments.ai_tasks_total.labels(service, 'pending', role).add(1);
}

function recordSucceeded(service: string, mode: string, role: string, seconds: number): void {
  instruments.ai_tasks_total.labels(service, 'success', role).add(1);
  instruments.ai_task_duration_seconds.labels(service, mode).observe(seconds);
}

function recordFailed(
  service: string,
  mode: string,
  role: string,
  seconds: number | undefined,
  error: unknown,
): void {
  const errorType = errorTypeOf(error);
  instruments.ai_tasks_total.labels(service, 'failed', role).add(1);
  if (seconds !== undefined)
    instruments.ai_task_duration_seconds.labels(service, mode).observe(seconds);
  instruments.ai_service_failures_total.labels(service, errorType).add(1);
  // A service name the label check refuses would make an invalid component too; the
  // failure is already counted as a drop above, so skip the string.
  if (typeof service === 'string')
    instruments.application_errors_total.labels(errorType, componentOf(service)).add(1);
}

class AiTaskMonitor implements CallMonitor {
  constructor(
    private readonly service: string,
    private readonly mode: string,
    private readonly userRole: string | undefined,
  ) {}
  begin(): string {
    const role = roleOf(this.userRole);
    try {
      recordSubmitted(this.service, role);
    } catch (err) {
      inputFailed('ai_tasks_total', 'monitorAiTask', err);
    }
    return role;
  }
  succeeded(role: string, seconds: number): void {
    try {
      recordSucceeded(this.service, this.mode, role, seconds);
    } catch (err) {
      inputFailed('ai_tasks_total', 'monitorAiTask', err);
    }
  }
  failed(role: string, seconds: number, error: unknown): void {
    try {
      recordFailed(this.service, this.mode, role, seconds, error);
    } catch (err) {
      inputFailed('ai_tasks_total', 'monitorAiTask', err);
    }
  }
}

/**
 * AI task metrics (`ai_tasks_total`, `ai_tasks_submitted_total`, `ai_task_duration_seconds`,
 * `ai_service_failures_total`, and `application_errors_total{component="ai_service_<service>"}`
 * for failures). Every method is a safe no-op before bizmon starts and never throws.
 */
export const aiTasks = {
  /** A task was submitted: `ai_tasks_submitted_total{service}` and `ai_tasks_total{status="pending"}`. */
  submitted(task: AiTaskLabels): void {
    try {
      recordSubmitted(task.service, roleOf(task.userRole));
    } catch (err) {
      inputFailed('ai_tasks_submitted_total', 'aiTasks.submitted', err);
    }
  },

  /** A task succeeded: `ai_tasks_total{status="success"}` and its duration by service and mode. */
  succeeded(task: AiTaskSuccess): void {
    try {
      recordSucceeded(
        task.service,
        modeOf(task.mode),
        roleOf(task.userRole),
        numberOf(task.durationSeconds),
      );
    } catch (err) {
      inputFailed('ai_tasks_total', 'aiTasks.succeeded', err);
    }
  },

  /**
   * A task failed: `ai_tasks_total{status="failed"}`, `ai_service_failures_total{service,
   * error_type}`, `application_errors_total{error_type, component="ai_service_<service>"}`,
   * and its duration when given.
   */
  failed(task: AiTaskFailure): void {
    try {
      const seconds = task.durationSeconds;
      recordFailed(
        task.service,
        modeOf(task.mode),
        roleOf(task.userRole),
        seconds === undefined ? undefined : numberOf(seconds),
        task.error,
      );
    } catch (err) {
      inputFailed('ai_tasks_total', 'aiTasks.failed', err);
    }
  },

  /**
   * Runs `fn` as one task: submitted, then succeeded or failed with its measured duration.
   * Returns `fn`'s result (its promise, for async functions) and re-throws its error unchanged.
   */
  track<R>(task: AiTaskLabels, fn: () => R): R {
    let service: string | undefined;
    let mode = 'default';
    let userRole: string | undefined;
    try {
      service = task.service;
      mode = modeOf(task.mode);
      userRole = task.userRole;
    } catch (err) {
      inputFailed('ai_tasks_total', 'aiTasks.track', err);
    }
    return invoke(
      new AiTaskMonitor(service as string, mode, userRole),
      fn as AnyFunction,
      undefined,
      [],
    ) as R;
  },
};

/** Options of {@link monitorAiTask}. */
export interface MonitorAiTaskOptions {
  /** Mode label of the duration; default `default`. */
  mode?: string;
}

/**
 * Monitors every call of a function or method as an AI task of `service` (see
 * {@link aiTasks.track}). Use as a wrapper, `monitorAiTask('flux')(generate)`, or as a method
 * decorator, `@monitorAiTask('flux', { mode: 'fast' })`, with standard or legacy decorators.
 * The user role is the current request's at call time.
 */
export function monitorAiTask(service: string, options?: MonitorAiTaskOptions): FunctionMonitor {
  let mode = 'default';
  try {
    mode = modeOf(options?.mode);
  } catch {
    // An options object whose getter throws: keep the default mode.
  }
  return functionMonitor(new AiTaskMonitor(service, mode, undefined), 'monitorAiTask');
}

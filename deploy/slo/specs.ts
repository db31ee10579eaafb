/**
 * bizmon's service level objectives: one entry per SLO, each an SLI over catalog metrics
 * (deploy/slo/sli.ts), an objective and a budget period (defaults in deploy/config.ts). The
 * recording rules, the ErrorBudgetBurn alerts, their promtool scenarios and the SLO dashboard
 * are generated from this list (`npm run deploy:generate`).
 */
import { config, type Team } from '../config';
import { eventsSli, latencySli, type Sli } from './sli';

export interface SloSpec {
  /** Value of the `slo` label on every rule and alert (kebab-case). */
  readonly name: string;
  readonly title: string;
  readonly team: Team;
  /** Share of good events to reach over the period, e.g. 0.999. */
  readonly objective?: number;
  /** Budget period, a Prometheus duration such as `30d`. */
  readonly period?: string;
  readonly sli: Sli;
  /**
   * Threshold alerts this SLO's page stands for: while the page fires, Alertmanager inhibits
   * them for the same team and SLI labels (alertmanager/alertmanager.yml, generated).
   */
  readonly supersedes?: readonly string[];
}

/** An SLO with its defaults applied. */
export type Slo = Required<SloSpec>;

const specs: readonly SloSpec[] = [
  {
    name: 'http-availability',
    title: 'HTTP availability',
    team: 'platform',
    supersedes: ['HighErrorRate'],
    sli: eventsSli('http_requests_total', {
      bad: { status_code: '5..' },
      by: ['job'],
      good: 'requests answered without a 5xx',
      examples: {
        good: { method: 'GET', endpoint: '/api/v1/tasks', status_code: '200', user_role: 'user' },
        bad: { method: 'GET', endpoint: '/api/v1/tasks', status_code: '503', user_role: 'user' },
      },
    }),
  },
  {
    // 99.9 % within 2.5 s (a bucket bound); SlowResponseTime already warns on a p95 over 2 s.
    name: 'http-latency',
    title: 'HTTP latency',
    team: 'platform',
    sli: latencySli('http_request_duration_seconds', {
      thresholdSeconds: 2.5,
      by: ['job'],
      example: { method: 'GET', endpoint: '/api/v1/tasks' },
    }),
  },
  {
    // Per AI service: finished tasks (success or failed), pending ones are submissions.
    name: 'ai-success',
    title: 'AI task success',
    team: 'ai_services',
    supersedes: ['AIServiceHighFailureRate'],
    sli: eventsSli('ai_tasks_total', {
      bad: { status: 'failed' },
      total: { status: 'success|failed' },
      by: ['job', 'service'],
      good: 'finished AI tasks that succeeded',
      examples: {
        good: { service: 'flux', status: 'success', user_role: 'user' },
        bad: { service: 'flux', status: 'failed', user_role: 'user' },
      },
    }),
  },
];

/** Every SLO, defaults applied. */
export const slos: readonly Slo[] = specs.map((s) => ({
  objective: config.slo.defaultObjective,
  period: config.slo.defaultPeriod,
  supersedes: [],
  ...s,
}));

/** What the demo platform sells: the AI services of the user's platform and their prices. */

export const AI_SERVICES = ['midjourney', 'flux', 'dreamwork', 'jimeng', 'kling'] as const;
export type AiService = (typeof AI_SERVICES)[number];

export function isAiService(value: string): value is AiService {
  return (AI_SERVICES as readonly string[]).includes(value);
}

/** Credits a task costs, and its simulated processing time range in seconds. */
export const SERVICE_PROFILE: Record<
  AiService,
  { cost: number; minSeconds: number; maxSeconds: number }
> = {
  midjourney: { cost: 8, minSeconds: 20, maxSeconds: 90 },
  flux: { cost: 4, minSeconds: 5, maxSeconds: 30 },
  dreamwork: { cost: 6, minSeconds: 10, maxSeconds: 60 },
  jimeng: { cost: 5, minSeconds: 8, maxSeconds: 45 },
  kling: { cost: 20, minSeconds: 60, maxSeconds: 600 },
};

/**
 * Injected faults, changed at run time through POST /api/v1/admin/fault so alerting can be
 * demonstrated (and tested end to end): a share of requests answering 500, and per-service AI
 * failure rates on top of the normal background failures.
 */
export interface Faults {
  httpErrorRate: number;
  aiFailureRate: Partial<Record<AiService, number>>;
}

/**
 * Background AI failure rate of a healthy platform: half of what the `ai-success` SLO allows
 * (99.9 %, deploy/slo), so a healthy demo burns its error budget at 0.5× and pages nobody.
 */
export const NORMAL_AI_FAILURE_RATE = 0.0005;

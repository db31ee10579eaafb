/**
 * Invisible: a framework app behaves exactly as without bizmon. Each app of
 * test/fixtures/differential runs twice, plain and preloaded; what the framework reports about
 * itself (Fastify's printRoutes/printPlugins/hook lists, Express's (also under NestJS) and
 * @koa/router's stacks, the prototypes bizmon wraps) and its answers to a fixed set of requests (routes, errors, 404s,
 * OPTIONS/HEAD/405 auto-answers, bad bodies, bad URLs, redirects; status, headers minus Date,
 * bytes) must be identical, and the preloaded run must really have been measured.
 */
import { join } from 'node:path';
import { differentialApps, removeAliasCopies } from './support/framework-apps';
import { runPlainAndPreloaded } from './support/framework-differential';

const runner = join(__dirname, 'fixtures', 'differential', 'run.cjs');

afterAll(removeAliasCopies);

test.each(differentialApps)('%s: the same with and without bizmon', async (_name, app, env) => {
  // production: Express's error page carries no stack (whose frames would name bizmon's wrapper).
  const { plain, preloaded, preloadedErr } = await runPlainAndPreloaded([runner, app], {
    NODE_ENV: 'production',
    ...env(),
  });
  const parsed = JSON.parse(plain) as { answers: { request: string; status: number }[] };
  // The fixed requests reached the app (a sanity check on the script, not the comparison).
  expect(parsed.answers.find((a) => a.request === 'GET /items/1')?.status).toBe(200);
  expect(parsed.answers.find((a) => a.request === 'GET /boom')?.status).toBe(500);
  expect(preloaded).toBe(plain);
  // ... and bizmon did measure the preloaded run: routes have their template.
  expect(preloadedErr).toContain('BIZMON on');
  expect(preloadedErr).toMatch(
    /http_requests_total\{method="GET",endpoint="\/api\/users\/:id",status_code="200"/,
  );
  expect(preloadedErr).toMatch(
    /http_requests_total\{method="GET",endpoint="\/boom",status_code="500"/,
  );
});

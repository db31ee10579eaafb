import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * BizmonHttpInstrumentation.disable() restores what it patched in Express (router), Koa,
 * Fastify and NestJS: the function in place afterwards is the plain library's (same source,
 * name, arity and keys, and no bizmon wrapper), enabling again wraps again, and disabling again
 * restores the very same functions. In a child process: require-in-the-middle does not see
 * jest's module loader.
 */
interface Shape {
  wrapped: boolean;
  sameSource: boolean;
  sameKeys: boolean;
  sameName: boolean;
}
interface Result {
  patched: Record<string, Shape>;
  disabled: Record<string, Shape>;
  reenabled: Record<string, Shape>;
  sameFunctionsAfterSecondDisable: Record<string, boolean>;
  handleRequestWrapped: boolean;
  handleRequestWrappedAfterDisable: boolean;
}

const TARGETS = [
  'router Route#dispatch',
  'koa Application#createContext',
  'koa context.onerror',
  'fastify Reply#send',
  'fastify Reply#hijack',
  'nest ExceptionsHandler#next',
];

let result: Result;
beforeAll(() => {
  const out = execFileSync(process.execPath, [join(__dirname, 'fixtures/frameworks-unpatch.cjs')], {
    encoding: 'utf8',
    env: { ...process.env, BIZMON_DISABLED: 'true' },
  });
  result = JSON.parse(out) as Result;
});

test.each(TARGETS)('%s: patched, then restored to the plain library by disable()', (target) => {
  // Patched: a bizmon wrapper that still looks like the library's function.
  expect(result.patched[target]).toEqual({
    wrapped: true,
    sameSource: false,
    sameKeys: true,
    sameName: true,
  });
  expect(result.disabled[target]).toEqual({
    wrapped: false,
    sameSource: true,
    sameKeys: true,
    sameName: true,
  });
  expect(result.reenabled[target]!.wrapped).toBe(true);
  expect(result.sameFunctionsAfterSecondDisable[target]).toBe(true);
});

test("Fastify's handle-request.js, replaced whole, is switched off by disable()", () => {
  expect(result.handleRequestWrapped).toBe(true);
  expect(result.handleRequestWrappedAfterDisable).toBe(false);
});

/**
 * bizmon's instrumentations get a require hook of their own (private-require-hook.ts). The
 * hook's class is an internal of @opentelemetry/instrumentation, found by file path; when it
 * moved (0.300 went from build/src/*.js to dist/*.cjs behind an `exports` map) the workaround
 * silently did nothing, and an app's own SDK lost its server spans and with them its Redis
 * spans (3.x line of test/otel-coexistence.test.ts). Here: the class is found in the installed
 * copy, and it is the one InstrumentationBase uses.
 */
import { existsSync } from 'node:fs';
import { InstrumentationBase } from '@opentelemetry/instrumentation';
import { singletonFile, withPrivateRequireHook } from '../src/private-require-hook';

class Probe extends InstrumentationBase {
  constructor() {
    super('bizmon-probe', '0.0.0', { enabled: false });
  }
  protected init(): [] {
    return [];
  }
  /** The require hook this instrumentation registers its modules in. */
  hook(): unknown {
    return (this as unknown as { _requireInTheMiddleSingleton: unknown })
      ._requireInTheMiddleSingleton;
  }
}

interface SingletonClass {
  _instance?: unknown;
  getInstance(): unknown;
}

test('the require hook class is found in the installed @opentelemetry/instrumentation', () => {
  const file = singletonFile();
  expect(existsSync(file)).toBe(true);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cls = (require(file) as { RequireInTheMiddleSingleton?: SingletonClass })
    .RequireInTheMiddleSingleton;
  expect(typeof cls?.getInstance).toBe('function');
});

test('instrumentations created inside get their own hook; others still share theirs', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cls = (require(singletonFile()) as { RequireInTheMiddleSingleton: SingletonClass })
    .RequireInTheMiddleSingleton;
  const shared = new Probe().hook();
  expect(shared).toBe(cls._instance);
  const own = withPrivateRequireHook(() => new Probe().hook());
  expect(own).toBeDefined();
  expect(own).not.toBe(shared);
  expect(cls._instance).toBe(shared);
  expect(new Probe().hook()).toBe(shared);
});

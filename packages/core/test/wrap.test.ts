import {
  InstrumentationBase,
  isWrapped,
  type InstrumentationNodeModuleDefinition,
} from '@opentelemetry/instrumentation';
import { unwrapMethod, wrapMethod } from '@bizmon/core';

/** What OpenTelemetry's instrumentation-pg and -ioredis do: unwrap a wrapped method, then wrap it. */
class OtelLikeInstrumentation extends InstrumentationBase {
  constructor() {
    super('otel-like', '1.0.0', { enabled: false });
  }
  protected init(): InstrumentationNodeModuleDefinition[] {
    return [];
  }
  patch(target: Client, calls: string[]): void {
    if (isWrapped(target.query)) this._unwrap(target, 'query');
    this._wrap(
      target,
      'query',
      (original: Client['query']) =>
        function (this: unknown, sql: string) {
          calls.push('otel');
          return original.call(this, sql);
        },
    );
  }
  unpatch(target: Client): void {
    this._unwrap(target, 'query');
  }
}

interface Client {
  query(sql: string): string;
}

function client(): Client {
  return { query: (sql: string) => `result of ${sql}` };
}

function bizmonPatch(target: Client, calls: string[]): void {
  wrapMethod(
    target,
    'query',
    (original) =>
      function (this: unknown, sql: string) {
        calls.push('bizmon');
        return original.call(this, sql);
      },
  );
}

test.each(['bizmon first', 'OpenTelemetry first'])(
  'with %s, both patches stay and each sees the call once',
  (order) => {
    const target = client();
    const calls: string[] = [];
    const otel = new OtelLikeInstrumentation();
    if (order === 'bizmon first') {
      bizmonPatch(target, calls);
      otel.patch(target, calls);
    } else {
      otel.patch(target, calls);
      bizmonPatch(target, calls);
    }
    expect(target.query('SELECT 1')).toBe('result of SELECT 1');
    expect([...calls].sort()).toEqual(['bizmon', 'otel']);
  },
);

test('patching again replaces bizmon’s wrapper, on top or under another library’s', () => {
  const target = client();
  const calls: string[] = [];
  bizmonPatch(target, calls);
  bizmonPatch(target, calls);
  target.query('a');
  expect(calls).toEqual(['bizmon']);

  calls.length = 0;
  new OtelLikeInstrumentation().patch(target, calls);
  bizmonPatch(target, calls);
  target.query('b');
  expect([...calls].sort()).toEqual(['bizmon', 'otel']);
});

test('unwrapping restores the original, or switches bizmon off under another wrapper', () => {
  const target = client();
  const original = target.query;
  const calls: string[] = [];
  bizmonPatch(target, calls);
  unwrapMethod(target, 'query');
  expect(target.query).toBe(original);

  const otel = new OtelLikeInstrumentation();
  bizmonPatch(target, calls);
  otel.patch(target, calls);
  unwrapMethod(target, 'query');
  target.query('c');
  expect(calls).toEqual(['otel']);
  otel.unpatch(target);
  calls.length = 0;
  expect(target.query('d')).toBe('result of d');
  expect(calls).toEqual([]);
});

import {
  InstrumentationBase,
  isWrapped,
  type InstrumentationNodeModuleDefinition,
} from '@opentelemetry/instrumentation';
import {
  isWrapped as isBizmonWrapper,
  unwrapFunction,
  unwrapMethod,
  wrapFunction,
  wrapMethod,
} from '@bizmon/core/internal';

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

test("isWrapped sees bizmon's wrappers, which OpenTelemetry's isWrapped cannot (no __wrapped)", () => {
  const target = client();
  const original = target.query;
  expect(isBizmonWrapper(target.query)).toBe(false);
  bizmonPatch(target, []);
  expect(isBizmonWrapper(target.query)).toBe(true);
  // The reason core has its own: shimmer's mark would be a key the plain library lacks.
  expect(isWrapped(target.query)).toBe(false);
  expect(Object.getOwnPropertyNames(target.query).sort()).toEqual(
    Object.getOwnPropertyNames(original).sort(),
  );
  unwrapMethod(target, 'query');
  expect(isBizmonWrapper(target.query)).toBe(false);
  expect(isBizmonWrapper(original)).toBe(false);
});

test('wrapFunction wraps a function replaced whole; unwrapFunction switches it off', () => {
  const calls: string[] = [];
  function handle(this: unknown, a: number, b: number): number {
    calls.push('original');
    return a + b;
  }
  const wrapper = wrapFunction(
    handle,
    (original) =>
      function (this: unknown, a: number, b: number): number {
        calls.push('bizmon');
        return original.call(this, a, b);
      },
  );
  expect(wrapper.name).toBe('handle');
  expect(wrapper.length).toBe(2);
  expect(Object.getOwnPropertyNames(wrapper).sort()).toEqual(
    Object.getOwnPropertyNames(handle).sort(),
  );
  expect(isBizmonWrapper(wrapper)).toBe(true);
  expect(wrapper(1, 2)).toBe(3);
  expect(calls).toEqual(['bizmon', 'original']);
  unwrapFunction(wrapper);
  expect(isBizmonWrapper(wrapper)).toBe(false);
  calls.length = 0;
  expect(wrapper(2, 3)).toBe(5);
  expect(calls).toEqual(['original']);
});

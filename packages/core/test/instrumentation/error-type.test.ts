import fc from 'fast-check';
import { errorTypeOf } from '@bizmon/core';
import { MAX_ERROR_TYPE_LENGTH, sqlstateOf } from '@bizmon/core/internal';

/** What a PostgreSQL server error looks like to a client (pg's DatabaseError, postgres.js's). */
function serverError(code: string): Error {
  return Object.assign(new Error('duplicate key value violates unique constraint "t_pkey"'), {
    code,
    severity: 'ERROR',
  });
}

describe('errorTypeOf', () => {
  test('Error classes by class name, never by message', () => {
    class PaymentError extends Error {}
    expect(errorTypeOf(new Error('user 42 not found'))).toBe('Error');
    expect(errorTypeOf(new TypeError('x'))).toBe('TypeError');
    expect(errorTypeOf(new PaymentError('card 4111 declined'))).toBe('PaymentError');
  });

  test("a generic class defers to the value's name", () => {
    const named = Object.assign(new Error('x'), { name: 'ValidationError' });
    expect(errorTypeOf(named)).toBe('ValidationError');
    expect(errorTypeOf(new DOMException('aborted', 'AbortError'))).toBe('AbortError');
    expect(errorTypeOf(new DOMException('timed out', 'TimeoutError'))).toBe('TimeoutError');
    expect(errorTypeOf({ name: 'QuotaExceeded', message: 'm' })).toBe('QuotaExceeded');
    // ioredis 6's RESP3 error class calls itself ReplyError, the name its users know.
    class SimpleError extends Error {
      override get name(): string {
        return 'ReplyError';
      }
    }
    expect(errorTypeOf(new SimpleError('WRONGTYPE'))).toBe('ReplyError');
    // A name that does not read as a class name does not win (pg's DatabaseError says `error`).
    class DatabaseError extends Error {
      override name = 'error';
    }
    expect(errorTypeOf(new DatabaseError('m'))).toBe('DatabaseError');
    expect(errorTypeOf(Object.assign(new Error('m'), { name: 'timeout' }))).toBe('timeout');
    expect(errorTypeOf({ name: 'rate limited!' })).toBe('rate_limited_');
  });

  test('non-errors by typeof, one lower-case spelling', () => {
    expect(errorTypeOf('a thrown string')).toBe('string');
    expect(errorTypeOf(42)).toBe('number');
    expect(errorTypeOf(true)).toBe('boolean');
    expect(errorTypeOf(10n)).toBe('bigint');
    expect(errorTypeOf(Symbol('s'))).toBe('symbol');
    expect(errorTypeOf(() => 1)).toBe('function');
    expect(errorTypeOf(undefined)).toBe('undefined');
    expect(errorTypeOf(null)).toBe('null');
    expect(errorTypeOf({})).toBe('object');
    expect(errorTypeOf(Object.create(null))).toBe('object');
    expect(errorTypeOf([1])).toBe('Array');
  });

  test('weird class names become label-safe and bounded', () => {
    const Weird = { ['my error <script>!']: class extends Error {} }['my error <script>!']!;
    expect(errorTypeOf(new Weird('m'))).toBe('my_error__script__');
    const Long = { ['E'.repeat(500)]: class extends Error {} }['E'.repeat(500)]!;
    expect(errorTypeOf(new Long('m'))).toBe('E'.repeat(MAX_ERROR_TYPE_LENGTH));
    const Punct = { ['<>']: class extends Error {} }['<>']!;
    expect(errorTypeOf(new Punct('m'))).toBe('Error'); // no name left: the instance's own name
    const Anonymous = (() => class extends Error {})();
    expect(errorTypeOf(new Anonymous('m'))).toBe('Error');
  });

  test('an object whose properties throw is `object`', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    expect(errorTypeOf(hostile)).toBe('object');
    const { proxy, revoke } = Proxy.revocable(new Error('x'), {});
    revoke();
    expect(errorTypeOf(proxy)).toBe('object');
  });

  test('PostgreSQL server errors by SQLSTATE condition, then class', () => {
    expect(errorTypeOf(serverError('23505'))).toBe('unique_violation');
    expect(errorTypeOf(serverError('40P01'))).toBe('deadlock_detected');
    expect(errorTypeOf(serverError('42P01'))).toBe('undefined_table');
    expect(errorTypeOf(serverError('08006'))).toBe('connection_exception');
    expect(errorTypeOf(serverError('HV000'))).toBe('database_error');
  });

  test("Node's five-letter system codes are not SQLSTATEs", () => {
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32 });
    expect(sqlstateOf(epipe)).toBeUndefined();
    expect(errorTypeOf(epipe)).toBe('Error');
    expect(sqlstateOf(serverError('40P01'))).toBe('40P01');
    expect(sqlstateOf(null)).toBeUndefined();
  });

  test('any value gives a label-safe name and nothing throws', () => {
    const safe = new RegExp(`^[A-Za-z0-9_]{1,${MAX_ERROR_TYPE_LENGTH}}$`);
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBigInt: true }), (value) => {
        expect(errorTypeOf(value)).toMatch(safe);
      }),
    );
    fc.assert(
      fc.property(fc.string(), fc.string(), (className, message) => {
        const C = { [className]: class extends Error {} }[className]!;
        expect(errorTypeOf(new C(message))).toMatch(safe);
        expect(errorTypeOf(Object.assign(new Error(message), { name: className }))).toMatch(safe);
      }),
    );
  });
});

import { errorTypeOf } from '@bizmon/core';
import { TimeoutError, withTimeout } from '@bizmon/core/internal';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

const never = (): Promise<never> => new Promise<never>(() => undefined);

describe('withTimeout', () => {
  test('passes the outcome through and clears its timer', async () => {
    await expect(withTimeout(Promise.resolve(7), 1000, 'work')).resolves.toBe(7);
    await expect(withTimeout(() => 8, 1000, 'work')).resolves.toBe(8);
    const failure = new RangeError('no');
    await expect(withTimeout(Promise.reject(failure), 1000, 'work')).rejects.toBe(failure);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a function that throws rejects, it does not throw', async () => {
    const failure = new Error('sync');
    const result = withTimeout(
      () => {
        throw failure;
      },
      1000,
      'work',
    );
    await expect(result).rejects.toBe(failure);
  });

  test('work that outlasts the limit rejects with a TimeoutError naming it', async () => {
    const result = withTimeout(never(), 1000, 'PING');
    jest.advanceTimersByTime(999);
    let settled = false;
    void result.catch(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    jest.advanceTimersByTime(1);
    const err = await result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ what: 'PING', ms: 1000, message: 'PING timed out after 1000 ms' });
    expect(errorTypeOf(err)).toBe('TimeoutError');
  });

  test('work that fails after its limit is no unhandled rejection', async () => {
    let fail!: (e: Error) => void;
    const late = new Promise<never>((_, reject) => (fail = reject));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const result = withTimeout(late, 10, 'work');
      jest.advanceTimersByTime(10);
      await expect(result).rejects.toBeInstanceOf(TimeoutError);
      fail(new Error('late'));
      jest.useRealTimers();
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

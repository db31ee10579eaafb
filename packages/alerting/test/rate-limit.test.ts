import { RateLimiter } from '@bizmon/alerting';

const limit = { messages: 3, perMs: 60_000 };

describe('RateLimiter restored from saved send times', () => {
  let now = 1_000_000;
  const clock = () => now;

  test('keeps the sends of the current window and waits them out', async () => {
    const saves: number[][] = [];
    const l = new RateLimiter(limit, clock, {
      // One too old, one ahead of the clock (set back since), two within the window, one junk.
      spent: [now - 70_000, now + 3_600_000, now - 10_000, now - 20_000, Number.NaN],
      save: async (spent) => void saves.push([...spent]),
    });
    expect(l.available()).toBe(0);
    // The oldest kept send (20 s ago) returns its token 40 s from now.
    expect(l.waitMs(1)).toBe(40_001);
    now += 40_001;
    expect(l.available()).toBe(1);
    await l.take(1);
    expect(saves).toEqual([[now - 40_001 - 10_000, now - 40_001, now]]);
    // The time that was ahead of the clock counted as the moment of the restart.
    now += 20_000;
    expect(l.available()).toBe(2);
  });

  test('keeps at most the limit when the limit was lowered', () => {
    const l = new RateLimiter({ messages: 2, perMs: 60_000 }, clock, {
      spent: [now - 3, now - 2, now - 1],
      save: async () => undefined,
    });
    expect(l.available()).toBe(0);
    expect(l.waitMs(1)).toBe(60_000 - 2 + 1);
  });
});

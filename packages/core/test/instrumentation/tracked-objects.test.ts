import { runHealthChecks, TrackedObjects } from '@bizmon/core/internal';
import { useTelemetry } from '../../../../test/support/telemetry';

const { telemetry } = useTelemetry();

interface Thing {
  ended: boolean;
}

function tracker(): {
  things: TrackedObjects<Thing, string>;
  dropped: string[];
  collected: () => number;
} {
  const dropped: string[] = [];
  let collects = 0;
  const things = new TrackedObjects<Thing, string>({
    isLive: (thing) => !thing.ended,
    onDrop: (label) => dropped.push(label),
    collect: () => void collects++,
    health: { name: 'tracked_things', check: () => ({ healthy: true, message: 'checked' }) },
  });
  return { things, dropped, collected: () => collects };
}

const checkMessage = async (): Promise<string | undefined> =>
  (await runHealthChecks()).checks.tracked_things?.message;

test('tracks each object once and lists the live ones, oldest first', () => {
  const { things, dropped } = tracker();
  const a = { ended: false };
  const b = { ended: false };
  expect(things.add(a, 'a')).toBe(true);
  expect(things.add(b, 'b')).toBe(true);
  expect(things.add(a, 'again')).toBe(false);
  expect(things.live()).toEqual([
    { object: a, data: 'a' },
    { object: b, data: 'b' },
  ]);
  a.ended = true;
  expect(things.live()).toEqual([{ object: b, data: 'b' }]);
  expect(dropped).toEqual(['a']);
  // Dropped once: the list no longer holds it.
  expect(things.live()).toEqual([{ object: b, data: 'b' }]);
  expect(dropped).toEqual(['a']);
  things.stop();
});

test('registers its collect callback and health check with the first object, until stopped', async () => {
  const { things, collected } = tracker();
  expect(await checkMessage()).toBeUndefined();
  await telemetry().scrape();
  expect(collected()).toBe(0);

  const thing = { ended: false };
  things.add(thing, 'x');
  expect(await checkMessage()).toBe('checked');
  await telemetry().scrape();
  expect(collected()).toBe(1);

  things.stop();
  expect(await checkMessage()).toBeUndefined();
  await telemetry().scrape();
  expect(collected()).toBe(1);

  // start() registers again while an object lives, and not when none does.
  things.start();
  things.start();
  expect(await checkMessage()).toBe('checked');
  await telemetry().scrape();
  expect(collected()).toBe(2);
  things.stop();
  thing.ended = true;
  things.start();
  expect(await checkMessage()).toBeUndefined();
});

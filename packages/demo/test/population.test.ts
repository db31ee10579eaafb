import { isIP } from 'node:net';
import { AbuseDetector, type AbuseDetection } from '@bizmon/http';
import { useTelemetry } from '../../../test/support/telemetry';
import { USER_COUNT, simulatedUsers, visitorAddress } from '../src/population';

useTelemetry();

/** RFC 5737 and RFC 3849: addresses that never route on the internet. */
const DOCUMENTATION = [
  /^192\.0\.2\.\d+$/,
  /^198\.51\.100\.\d+$/,
  /^203\.0\.113\.\d+$/,
  /^2001:db8:/,
];
const documented = (address: string) =>
  isIP(address) !== 0 && DOCUMENTATION.some((range) => range.test(address));

test('the users are distinct, every tenth a VIP, on documentation-range addresses', () => {
  const users = simulatedUsers();
  expect(users).toHaveLength(USER_COUNT);
  expect(new Set(users.map((u) => u.id)).size).toBe(USER_COUNT);
  expect(users.filter((u) => u.role === 'vip')).toHaveLength(USER_COUNT / 10);
  expect(users.map((u) => u.address).filter((a) => !documented(a))).toEqual([]);
  // Most users have an address of their own; some share an office's.
  expect(new Set(users.map((u) => u.address)).size).toBeGreaterThan(USER_COUNT * 0.8);
});

test('no address is shared by enough users to look like credential stuffing', () => {
  const detector = new AbuseDetector();
  const seen: AbuseDetection[] = [];
  detector.onDetect((d) => seen.push(d));
  // Worst case: every user fails a login at the same moment, each from their own address.
  for (const user of simulatedUsers()) detector.recordLoginFailure(user.address, user.id, 1000);
  expect(seen).toEqual([]);
  // The same failures from one address (the demo before it sent X-Forwarded-For) are stuffing.
  for (const user of simulatedUsers()) detector.recordLoginFailure('127.0.0.1', user.id, 1000);
  expect(seen.map((d) => d.kind)).toEqual(['credential_stuffing']);
});

test('visitors come from many addresses in 2001:db8:ffff::/48', () => {
  let seed = 1;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const addresses = Array.from({ length: 1000 }, () => visitorAddress(random));
  expect(addresses.filter((a) => !documented(a) || !a.startsWith('2001:db8:ffff::'))).toEqual([]);
  expect(new Set(addresses).size).toBeGreaterThan(950);
  expect(visitorAddress(() => 0)).toBe('2001:db8:ffff::0');
  expect(visitorAddress(() => 0.9999999)).toBe('2001:db8:ffff::ffff');
});

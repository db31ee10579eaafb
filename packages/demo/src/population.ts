/**
 * Who the simulated traffic is: registered users with the addresses they connect from, and
 * anonymous visitors. Every address is in a documentation range (RFC 5737 and RFC 3849), so
 * none is a real host. The demo trusts X-Forwarded-For from loopback only (see app.ts), the
 * way an app behind a local reverse proxy does, so each simulated client keeps its own address.
 */

/** A registered user of the demo platform. */
export interface SimulatedUser {
  id: string;
  role: 'user' | 'vip';
  /** The address the user's requests come from (X-Forwarded-For). */
  address: string;
}

/** Registered users. With the traffic's 20 requests a second, each sends about 5 a minute. */
export const USER_COUNT = 200;

/** Two offices, each a NAT in front of OFFICE_SIZE users: several users share one address. */
const OFFICES = ['203.0.113.10', '203.0.113.20'] as const;
const OFFICE_SIZE = 10;

/**
 * The address of user `n` (1-based): the last 20 users sit in the offices, every fifth of the
 * others is on a mobile IPv6 network, the rest on home IPv4 lines in 192.0.2.0/24.
 */
function addressOf(n: number): string {
  const office = n - (USER_COUNT - OFFICES.length * OFFICE_SIZE) - 1;
  if (office >= 0) return OFFICES[Math.floor(office / OFFICE_SIZE)]!;
  if (n % 5 === 0) return `2001:db8:${n.toString(16)}::1`;
  return `192.0.2.${n}`;
}

/** The registered users (USER_COUNT): every tenth is a VIP. */
export function simulatedUsers(): SimulatedUser[] {
  return Array.from({ length: USER_COUNT }, (_, i) => ({
    id: `demo-user-${i + 1}`,
    role: (i + 1) % 10 === 0 ? 'vip' : 'user',
    address: addressOf(i + 1),
  }));
}

/**
 * An anonymous visitor's address: one of 65,536 IPv6 addresses in 2001:db8:ffff::/48, so a
 * visitor rarely comes back within the abuse detector's windows, as on a public site.
 */
export function visitorAddress(random: () => number = Math.random): string {
  return `2001:db8:ffff::${Math.floor(random() * 0x10000).toString(16)}`;
}

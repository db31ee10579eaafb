import { isIdSegment, joinRoute, routeTemplate } from '@bizmon/http';

describe('routeTemplate (the seed rule plus id replacement)', () => {
  test.each([
    ['/', '/'],
    ['', '/'],
    ['/api/v1/midjourney/submit', 'midjourney'],
    ['/api/v1/flux', 'flux'],
    ['/api/v1/flux/', 'flux'],
    ['/api/v1/kling/tasks/42?x=1', 'kling'],
    ['/api/v1/12345/x', ':id'],
    ['/api/v1/', '/api/v1'],
    ['/users/', '/users'],
    ['/users', '/users'],
    ['/users/42', '/users/:id'],
    ['/users/42/', '/users/:id'],
    ['/users/42/orders/7?expand=1', '/users/:id/orders/:id'],
    ['/users/550e8400-e29b-41d4-a716-446655440000', '/users/:id'],
    ['/users/550E8400-E29B-41D4-A716-446655440000/avatar', '/users/:id/avatar'],
    ['/objects/507f1f77bcf86cd799439011', '/objects/:id'],
    ['/commits/da39a3ee5e6b4b0d3255bfef95601890afd80709', '/commits/:id'],
    ['/tokens/dGhpcyBpcyBhIHRlc3QgdG9rZW4x', '/tokens/:id'],
    ['/share/aZ3_kL9-pQ2xW7yT', '/share/:id'],
    ['/ulid/01ARZ3NDEKTSV4RRFFQ69G5FAV', '/ulid/:id'],
    ['/user-settings/notifications', '/user-settings/notifications'],
    ['/authentication-settings-page', '/authentication-settings-page'],
    ['/v2/items', '/v2/items'],
    ['/files/report.pdf', '/files/report.pdf'],
    ['//double//slash', '/double/slash'],
    ['/search#frag', '/search'],
    ['relative/7', '/relative/:id'],
  ])('%s → %s', (path, expected) => {
    expect(routeTemplate(path)).toBe(expected);
  });

  test('is bounded for very long paths and never throws on odd input', () => {
    expect(routeTemplate('/a'.repeat(5000)).length).toBeLessThanOrEqual(512);
    expect(routeTemplate(undefined as unknown as string)).toBe('/');
  });

  test('isIdSegment keeps words and short tokens', () => {
    expect(isIdSegment('abc')).toBe(false);
    expect(isIdSegment('deadbeef')).toBe(false);
    expect(isIdSegment('deadbeefdeadbeef')).toBe(true);
    expect(isIdSegment('0')).toBe(true);
    expect(isIdSegment('ReleaseNotesSummary')).toBe(false);
  });

  test('joinRoute joins a mount path and a route path', () => {
    expect(joinRoute('/api/users', '/:id')).toBe('/api/users/:id');
    expect(joinRoute('/api/users', '/')).toBe('/api/users');
    expect(joinRoute('', '/')).toBe('/');
    expect(joinRoute(undefined, '/x/')).toBe('/x');
    expect(joinRoute('', ['/a', '/b'])).toBe('/a|/b');
    expect(joinRoute('', /^\/re/)).toBe('/^\\/re/');
    expect(joinRoute('', 42)).toBeUndefined();
  });
});

import { isOwnRedisClient, OWN_REDIS_CONNECTION_NAME } from '@bizmon/core/internal';

test("bizmon's own Redis connections are told apart by their connection name", () => {
  expect(OWN_REDIS_CONNECTION_NAME).toBe('bizmon');
  expect(isOwnRedisClient({ options: { connectionName: OWN_REDIS_CONNECTION_NAME } })).toBe(true);
  expect(isOwnRedisClient({ options: { connectionName: 'orders-cache' } })).toBe(false);
  expect(isOwnRedisClient({ options: {} })).toBe(false);
  expect(isOwnRedisClient({})).toBe(false);
});

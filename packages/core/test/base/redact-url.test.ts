import { info, redactUrls, warn, warnRateLimited } from '@bizmon/core/internal';

test.each([
  ['redis://default:hunter2@cache.internal:6379/0', 'redis://***@cache.internal:6379/0'],
  [
    'postgres://billing:s3cret@db:5432/app?sslmode=require',
    'postgres://***@db:5432/app?sslmode=***',
  ],
  [
    'https://otlp.example/v1/metrics?api_key=abc123&region=eu',
    'https://otlp.example/v1/metrics?api_key=***&region=***',
  ],
  ['https://ghp_token@git.example/x', 'https://***@git.example/x'],
  ['http://u:p@h/p?a=1&bare#frag', 'http://***@h/p?a=***&***#***'],
  ['http://h/p#access_token=xyz', 'http://h/p#***'],
  ['http://127.0.0.1:9464/metrics', 'http://127.0.0.1:9464/metrics'],
  ['connect ECONNREFUSED 127.0.0.1:6379', 'connect ECONNREFUSED 127.0.0.1:6379'],
  // A password holding '@' is masked whole, up to the host.
  ['redis://:p@ss@cache:6379', 'redis://***@cache:6379'],
])('%s', (input, expected) => {
  expect(redactUrls(input)).toBe(expected);
});

test('every URL in a line of text is masked and the rest of the line kept', () => {
  expect(
    redactUrls('push to "http://a:b@one/x?k=v" failed, retrying redis://:pw@two:6380 (attempt 2)'),
  ).toBe('push to "http://***@one/x?k=***" failed, retrying redis://***@two:6380 (attempt 2)');
});

test("bizmon's log lines mask URL credentials whichever package writes them", () => {
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    warn('Redis is unreachable at redis://:hunter2@10.0.0.7:6379');
    warnRateLimited('redact-test', 'lost postgres://app:s3cret@db/app');
    info('pushing to https://otlp.example/v1/metrics?api_key=abc');
    const out = stderr.mock.calls.map((c) => String(c[0])).join('');
    expect(out).toBe(
      '[bizmon] warning: Redis is unreachable at redis://***@10.0.0.7:6379\n' +
        '[bizmon] warning: lost postgres://***@db/app\n' +
        '[bizmon] pushing to https://otlp.example/v1/metrics?api_key=***\n',
    );
  } finally {
    stderr.mockRestore();
  }
});

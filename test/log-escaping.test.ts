import { join } from 'node:path';
import { get, startApp } from './support/apps';

/**
 * A value an app echoes into a bizmon warning (here: an error message naming a label value taken
 * from a request) must not forge log lines or drive the terminal.
 */
test('a preloaded app: \\n, \\r and ANSI escapes in an echoed label value or alert name stay on one escaped line', async () => {
  const app = await startApp(join(__dirname, 'fixtures', 'log-forge-app.cjs'));
  try {
    const forged =
      'acme\n[bizmon] warning: FORGED all clear\r[bizmon] FORGED2\u001b[2J\u001b[31mred';
    await get(`http://127.0.0.1:${app.port}/?tenant=${encodeURIComponent(forged)}`);
    await get(`http://127.0.0.1:${app.port}/?alert=${encodeURIComponent(forged)}`);
    expect((await get(`http://127.0.0.1:${app.exporterPort}/metrics`)).status).toBe(200);
    const lines = app.output().split('\n');
    const warning = lines.filter((l) => l.includes('no quota series'));
    expect(warning).toEqual([
      '[bizmon] warning: a collect callback failed: no quota series for tenant label ' +
        'acme\\n[bizmon] warning: FORGED all clear\\r[bizmon] FORGED2\\u001b[2J\\u001b[31mred',
    ]);
    expect(lines.filter((l) => l.includes('dropping alert'))).toEqual([
      '[bizmon-alerting] warning: alert manager not initialised; dropping alert ' +
        'acme\\n[bizmon] warning: FORGED all clear\\r[bizmon] FORGED2\\u001b[2J\\u001b[31mred',
    ]);
    expect(lines.filter((l) => l.startsWith('[bizmon] warning: FORGED'))).toEqual([]);
    expect(app.output()).not.toMatch(/[\r\u001b]/);
  } finally {
    await app.stop();
  }
});

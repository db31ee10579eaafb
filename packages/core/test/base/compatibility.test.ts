import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIZMON_VERSION } from '@bizmon/core';
import { isCompatibleVersion, majorOf } from '../../src/base/compatibility';

test('BIZMON_VERSION is the package.json version', () => {
  const manifest = JSON.parse(
    readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'),
  ) as {
    version: string;
  };
  expect(BIZMON_VERSION).toBe(manifest.version);
  expect(majorOf(BIZMON_VERSION)).toBe(manifest.version.split('.')[0]);
});

describe('isCompatibleVersion: which copies of @bizmon/core share the process state', () => {
  test.each([
    ['1.2.0', '1.2.0'],
    ['1.2.0', '1.2.7'],
    // Symmetric, unlike @opentelemetry/api's check: both load orders must share.
    ['1.2.0', '1.3.0'],
    ['1.3.0', '1.2.0'],
    ['0.1.0', '0.1.1'],
    ['0.1.1', '0.1.0'],
    ['2.0.0-rc.1', '2.0.0-rc.1'],
  ])('%s and %s share', (own, other) => {
    expect(isCompatibleVersion(own, other)).toBe(true);
  });

  test.each([
    ['1.2.0', '2.0.0'],
    ['2.0.0', '1.9.9'],
    // Below 1.0 a minor release may break.
    ['0.1.0', '0.2.0'],
    ['0.2.0', '0.1.0'],
    ['0.1.0', '1.1.0'],
    // A pre-release shares only with itself.
    ['1.2.0', '1.3.0-beta.1'],
    ['1.3.0-beta.1', '1.3.0-beta.2'],
    ['1.3.0-beta.1', '1.2.0'],
    // A version that is not semver (a bundled copy that lost its package.json) shares with none.
    ['1.2.0', 'unknown'],
    ['unknown', 'unknown'],
    ['1.2.0', ''],
  ])('%s and %s do not share', (own, other) => {
    expect(isCompatibleVersion(own, other)).toBe(false);
  });
});

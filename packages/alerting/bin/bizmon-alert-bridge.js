#!/usr/bin/env node
'use strict';
// Committed (not built) so that npm links the bin at install time: in a fresh clone `npm ci`
// runs before dist/ exists, and npm skips a bin whose target is missing.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const cli = join(__dirname, '..', 'dist', 'bridge', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write(
    `bizmon-alert-bridge: ${cli} is missing; build the package first (npm run build)\n`,
  );
  process.exit(1);
}
require(cli);

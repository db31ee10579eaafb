// Preloaded (--require) into every process bench/startup.mjs times: on exit, prints the
// process's peak RSS and CPU time to stderr, where the parent reads them. The same for every
// variant, so it cancels out of the "added" figures.
'use strict';
const { writeSync } = require('node:fs');

process.once('exit', () => {
  const u = process.resourceUsage();
  writeSync(2, `\nUSAGE ${u.maxRSS} ${u.userCPUTime + u.systemCPUTime}\n`);
});

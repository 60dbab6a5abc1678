#!/usr/bin/env node
'use strict';
// Runs the bundled CLI; builds the bundles first when they are missing (a fresh `npm ci`).
const path = require('path');
const fs = require('fs');
const { spawnSync } = require('child_process');
const root = path.join(__dirname, '..');
const bundle = path.join(root, 'dist', 'cli.js');
if (!fs.existsSync(bundle)) {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0 || !fs.existsSync(bundle)) {
    process.stderr.write(`pscl: could not build ${bundle}; run \`npm run build\` in ${root} and read its errors.\n`);
    process.exit(2);
  }
}
require(bundle);

#!/usr/bin/env node
'use strict';
// launch-app <script>: puts the settings of ./launch.json into process.env, marks the app as
// launched (LAUNCHED_BY=launch-app), then loads the script in this process, so the app gets
// the container's signals itself.
const fs = require('node:fs');
const path = require('node:path');

const script = process.argv[2];
if (!script) {
  console.error('usage: launch-app <script>');
  process.exit(2);
}
const settings = fs.existsSync('launch.json') ? JSON.parse(fs.readFileSync('launch.json', 'utf8')) : {};
for (const [key, value] of Object.entries(settings)) {
  if (process.env[key] === undefined) process.env[key] = String(value);
}
process.env.LAUNCHED_BY = 'launch-app';
require(path.resolve(script));

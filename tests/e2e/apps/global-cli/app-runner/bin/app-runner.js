#!/usr/bin/env node
'use strict';
// `app-runner <file>`: loads the app's file in this process, as a process manager's runtime
// mode does; the app answers with `runner` set, so the tests know it was started this way.
const path = require('node:path');

const file = process.argv[2];
if (!file) {
  console.error('usage: app-runner <file>');
  process.exit(2);
}
process.env.APP_RUNNER = require('../package.json').version;
require(path.resolve(file));

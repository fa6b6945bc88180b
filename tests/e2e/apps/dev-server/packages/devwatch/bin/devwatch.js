#!/usr/bin/env node
'use strict';
// devwatch <script>: runs `node <script>` and runs it again whenever a file of the current
// folder changes (node_modules aside), as nodemon does. The app sees LAUNCHED_BY=devwatch.
const { spawn } = require('node:child_process');
const fs = require('node:fs');

const script = process.argv[2];
if (!script) {
  console.error('usage: devwatch <script>');
  process.exit(2);
}
let child = null;
let restarting = false;

function start() {
  child = spawn(process.execPath, [script], { stdio: 'inherit', env: { ...process.env, LAUNCHED_BY: 'devwatch' } });
  child.on('exit', (code, signal) => {
    if (restarting) {
      restarting = false;
      start();
    } else {
      process.exit(signal ? 1 : code);
    }
  });
}

fs.watch('.', { recursive: true }, (event, file) => {
  if (!file || file.startsWith('node_modules')) return;
  console.log(`devwatch: ${file} changed, restarting`);
  restarting = true;
  child.kill('SIGTERM');
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => child.kill(signal));
}
console.log(`devwatch: watching, running ${script}`);
start();

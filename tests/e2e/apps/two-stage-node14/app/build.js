'use strict';
// The app's build step: writes dist/server.js from src/server.js, stamping the answer with the
// mark that proves the program answering is the built one (no external tool needed).
const fs = require('node:fs');
const path = require('node:path');

const source = fs.readFileSync(path.join(__dirname, 'src', 'server.js'), 'utf8');
const built = source.replace("const compiled = false; // set by the build", 'const compiled = true;');
if (built === source) {
  throw new Error('build: the mark to stamp is missing from src/server.js');
}
fs.mkdirSync(path.join(__dirname, 'dist'), { recursive: true });
fs.writeFileSync(path.join(__dirname, 'dist', 'server.js'), built);
console.log('build: wrote dist/server.js');

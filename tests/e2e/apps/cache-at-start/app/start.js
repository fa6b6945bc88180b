'use strict';
// Writes the app's cache under data/ (a VOLUME of the image) before the server starts, as
// frameworks write theirs (.next/cache, .cache) when they start; fails, and the app with it,
// if the user the app runs as cannot write there.
const fs = require('node:fs');

fs.mkdirSync('data/cache', { recursive: true });
fs.writeFileSync('data/cache/started.json', JSON.stringify({ startedAt: new Date().toISOString() }) + '\n');
console.log('cache written to data/cache/started.json');
require('./server.js');

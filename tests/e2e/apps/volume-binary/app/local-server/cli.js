#!/usr/bin/env node
'use strict';
// The app of an end-to-end image test, started as a package's binary (node_modules/.bin/serve-data).
//   GET /       answers at once: the uid it runs as, its arguments, the data folder
//   GET /write  writes a file into the data folder (a VOLUME in the image) and says which
//   GET /slow   answers after SLOW_MS milliseconds (default 1500), to be in flight during SIGTERM
// On SIGTERM or SIGINT it stops accepting connections, lets requests in flight finish, and exits 0.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const dataFlag = process.argv.indexOf('--data');
const dataDir = dataFlag > 0 ? process.argv[dataFlag + 1] : '/data';
const port = Number(process.env.PORT || 3000);
const slowMs = Number(process.env.SLOW_MS || 1500);

function answer(response, status, body) {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(body) + '\n');
}

const server = http.createServer((request, response) => {
  if (request.url === '/slow') {
    console.log('slow request started');
    setTimeout(() => response.end(`slow answer after ${slowMs} ms\n`), slowMs);
    return;
  }
  if (request.url === '/write') {
    const file = path.join(dataDir, `written-by-${process.pid}.txt`);
    try {
      fs.writeFileSync(file, 'written by the app\n');
      answer(response, 200, { written: file, uid: process.getuid() });
    } catch (error) {
      answer(response, 500, { error: error.code || String(error), uid: process.getuid() });
    }
    return;
  }
  answer(response, 200, { uid: process.getuid(), argv: process.argv.slice(1), data: dataDir, env: process.env.NODE_ENV || null });
});

server.listen(port, () => console.log(`listening on ${port}`));

function shutdown(signal) {
  console.log(`${signal} received: closing the server`);
  server.close((error) => {
    console.log('server closed');
    process.exit(error ? 1 : 0);
  });
  server.closeIdleConnections();
}

process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

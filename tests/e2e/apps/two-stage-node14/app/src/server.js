'use strict';
// Tiny HTTP app for the end-to-end image tests, run from dist/ where the build step writes it.
//   GET /      answers at once, with the uid it runs as, NODE_ENV, and whether it was built
//   GET /slow  answers after SLOW_MS milliseconds (default 1500), to be in flight during SIGTERM
// On SIGTERM or SIGINT it stops accepting connections, lets requests in flight finish, and exits 0.
const http = require('node:http');
const ms = require('ms');

const compiled = false; // set by the build
const port = Number(process.env.PORT || 3000);
const slowMs = Number(process.env.SLOW_MS || 1500);

const server = http.createServer((request, response) => {
  if (request.url === '/slow') {
    console.log('slow request started');
    setTimeout(() => response.end(`slow answer after ${ms(slowMs)}\n`), slowMs);
    return;
  }
  const answer = { hello: 'world', uid: process.getuid(), env: process.env.NODE_ENV || null, compiled };
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(answer) + '\n');
});

server.listen(port, () => console.log(`listening on ${port}`));

function shutdown(signal) {
  console.log(`${signal} received: closing the server`);
  server.close((error) => {
    console.log('server closed');
    process.exit(error ? 1 : 0);
  });
  if (server.closeIdleConnections) server.closeIdleConnections(); // Node.js 18.2 and later
}

process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

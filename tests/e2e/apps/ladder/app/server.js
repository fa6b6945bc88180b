'use strict';
// Tiny HTTP app for the end-to-end image tests.
//   GET /      answers at once, with the uid it runs as (the tests check it is not root), NODE_ENV,
//              and LAUNCHED_BY (what started it, when a tool did)
//   GET /slow  answers after SLOW_MS milliseconds (default 1500), to be in flight during SIGTERM
// On SIGTERM or SIGINT it stops accepting connections, lets requests in flight finish, and exits 0.
const http = require('node:http');
const ms = require('ms');

const port = Number(process.env.PORT || 3000);
const slowMs = Number(process.env.SLOW_MS || 1500);

const server = http.createServer((request, response) => {
  if (request.url === '/slow') {
    console.log('slow request started');
    setTimeout(() => {
      response.end(`slow answer after ${ms(slowMs)}\n`);
    }, slowMs);
    return;
  }
  response.setHeader('content-type', 'application/json');
  const launchedBy = process.env.LAUNCHED_BY || null; // set by the tool that started the app, if any
  response.end(JSON.stringify({ hello: 'world', uid: process.getuid(), env: process.env.NODE_ENV || null, launchedBy }) + '\n');
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

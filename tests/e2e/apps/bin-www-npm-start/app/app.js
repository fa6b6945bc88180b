'use strict';
// The app's request handler, apart from the server bin/www starts (the layout Express's
// generator gives an app).
//   GET /      answers at once, with the uid it runs as, NODE_ENV, and LAUNCHED_BY (set by the
//              tool that started it, when one did)
//   GET /slow  answers after SLOW_MS milliseconds (default 1500), to be in flight during SIGTERM
const ms = require('ms');

const slowMs = Number(process.env.SLOW_MS || 1500);

module.exports = function handle(request, response) {
  if (request.url === '/slow') {
    console.log('slow request started');
    setTimeout(() => response.end(`slow answer after ${ms(slowMs)}\n`), slowMs);
    return;
  }
  const answer = {
    hello: 'world',
    uid: process.getuid(),
    env: process.env.NODE_ENV || null,
    launchedBy: process.env.LAUNCHED_BY || null,
  };
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(answer) + '\n');
};

'use strict';
// Answers with the versions of the packages it was installed with (made-up ones, served by the
// test's own registry), so an image can be seen to hold what its lockfile says.
const http = require('node:http');
const { dependencies } = require('./package.json');

const installed = Object.fromEntries(
  Object.keys(dependencies).map((name) => [name, require(`${name}/package.json`).version]),
);
const server = http.createServer((request, response) => {
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({ installed, uid: process.getuid() }) + '\n');
});
server.listen(Number(process.env.PORT || 3000));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

#!/usr/bin/env node
'use strict';
// Stand-in for the `next` command line, reading and writing the files the real one does:
//   next build   compiles pages/*.js into .next/server/pages/ and writes .next/BUILD_ID
//   next start   serves that build, never the sources, with next.config.js and public/:
//                GET /          the page's answer, with the uid and NODE_ENV it runs with
//                GET /<file>    a file of public/
//                GET /slow      answers after SLOW_MS milliseconds (default 1500)
//                On SIGTERM or SIGINT it lets requests in flight finish and exits 0.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const root = process.cwd();
const dotNext = path.join(root, '.next');
const command = process.argv[2];

if (command === 'build') {
  build();
} else if (command === 'start') {
  start();
} else {
  console.error(`next: unknown command ${command}`);
  process.exit(1);
}

function build() {
  const pages = path.join(root, 'pages');
  const out = path.join(dotNext, 'server', 'pages');
  fs.mkdirSync(out, { recursive: true });
  for (const name of fs.readdirSync(pages)) {
    const source = fs.readFileSync(path.join(pages, name), 'utf8');
    fs.writeFileSync(path.join(out, name), `// compiled by next build\n${source}`);
  }
  fs.writeFileSync(path.join(dotNext, 'BUILD_ID'), 'standin\n');
  console.log(`next build: ${fs.readdirSync(out).length} page(s) compiled into .next`);
}

function start() {
  if (!fs.existsSync(path.join(dotNext, 'BUILD_ID'))) {
    console.error('Could not find a production build in the .next directory: run `next build` first');
    process.exit(1);
  }
  const configPath = path.join(root, 'next.config.js');
  const config = fs.existsSync(configPath) ? require(configPath) : {};
  const page = require(path.join(dotNext, 'server', 'pages', 'index.js'));
  const port = Number(process.env.PORT || 3000);
  const slowMs = Number(process.env.SLOW_MS || 1500);
  const publicDir = path.join(root, 'public');

  const server = http.createServer((request, response) => {
    if (request.url === '/slow') {
      console.log('slow request started');
      setTimeout(() => response.end(`slow answer after ${slowMs} ms\n`), slowMs);
      return;
    }
    const file = path.join(publicDir, path.normalize(request.url));
    if (request.url !== '/' && file.startsWith(publicDir + path.sep) && fs.existsSync(file)) {
      response.end(fs.readFileSync(file));
      return;
    }
    if (config.poweredByHeader !== false) {
      response.setHeader('x-powered-by', 'Next.js');
    }
    response.setHeader('content-type', 'application/json');
    const answer = { ...page(), uid: process.getuid(), env: process.env.NODE_ENV || null };
    response.end(JSON.stringify(answer) + '\n');
  });
  server.listen(port, () => console.log(`next start: listening on ${port}`));

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
}

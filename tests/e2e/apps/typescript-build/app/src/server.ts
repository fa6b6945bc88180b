// Tiny HTTP app for the end-to-end image tests, in TypeScript so its image needs a build step.
//   GET /      answers at once, with the uid it runs as (the tests check it is not root)
//   GET /slow  answers after SLOW_MS milliseconds (default 1500), to be in flight during SIGTERM
// On SIGTERM or SIGINT it stops accepting connections, lets requests in flight finish, and exits 0.
// The few Node.js APIs it uses are declared here, so typescript is the only devDependency.

interface IncomingMessage { url?: string }
interface ServerResponse { setHeader(name: string, value: string): void; end(body: string): void }
interface Server {
  listen(port: number, callback: () => void): void;
  close(callback: (error?: Error) => void): void;
  closeIdleConnections(): void;
}
declare function require(name: 'node:http'): {
  createServer(handler: (request: IncomingMessage, response: ServerResponse) => void): Server;
};
declare function require(name: 'ms'): (milliseconds: number) => string;
declare const process: {
  env: Record<string, string | undefined>;
  getuid(): number;
  exit(code: number): never;
  once(signal: 'SIGTERM' | 'SIGINT', handler: (signal: string) => void): void;
};

const http = require('node:http');
const ms = require('ms');

const port: number = Number(process.env.PORT || 3000);
const slowMs: number = Number(process.env.SLOW_MS || 1500);

const server = http.createServer((request, response) => {
  if (request.url === '/slow') {
    console.log('slow request started');
    setTimeout(() => {
      response.end(`slow answer after ${ms(slowMs)}\n`);
    }, slowMs);
    return;
  }
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({
    hello: 'world', uid: process.getuid(), env: process.env.NODE_ENV || null, compiled: true,
  }) + '\n');
});

server.listen(port, () => console.log(`listening on ${port}`));

function shutdown(signal: string): void {
  console.log(`${signal} received: closing the server`);
  server.close((error) => {
    console.log('server closed');
    process.exit(error ? 1 : 0);
  });
  server.closeIdleConnections();
}

process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

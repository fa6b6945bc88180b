'use strict';
// The app's one page: `next build` compiles it into .next/server/pages/index.js, which is what
// `next start` serves; the source itself is not needed at run time.
const ms = require('ms');

module.exports = () => ({ hello: 'world', page: 'index', compiled: true, revalidate: ms('1h') });

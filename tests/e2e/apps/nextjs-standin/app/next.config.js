'use strict';
module.exports = { poweredByHeader: false };

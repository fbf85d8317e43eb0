// dist/client is the browser build (ES modules) inside a CommonJS package: mark it so Node and
// bundlers read its `.js` files as ES modules.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
writeFileSync(join(__dirname, '..', 'dist', 'client', 'package.json'), JSON.stringify({ type: 'module' }) + '\n');

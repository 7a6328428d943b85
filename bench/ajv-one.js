#!/usr/bin/env node
// ajv-one.js: the anchor of the one-payload benchmark (bench/run.sh --only startup). What a caller
// who checks one request body per call with ajv runs: node starts, ajv compiles the request schema
// (as ajv-bench.js does: common.json, ajv-formats' uuid, the equal-properties keyword), one JSON
// file is read, parsed and validated.
//
//   node ajv-one.js [--schemas ../contracts/v1/schemas] FILE
//
// Exit status: 0 valid, 1 invalid, 2 on a usage or read error.
'use strict';

const fs = require('fs');
const path = require('path');
const { compile } = require('./ajv-bench.js');

const argv = process.argv.slice(2);
let schemas = path.join(__dirname, '..', 'contracts', 'v1', 'schemas');
let file = null;
for (let i = 0; i < argv.length; ++i) {
  if (argv[i] === '--schemas' && i + 1 < argv.length) schemas = argv[++i];
  else if (file === null && !argv[i].startsWith('--')) file = argv[i];
  else {
    process.stderr.write(`ajv-one: unexpected argument ${argv[i]}\n`);
    process.exit(2);
  }
}
if (file === null) {
  process.stderr.write('ajv-one: a FILE to validate is required\n');
  process.exit(2);
}
let document;
try {
  document = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (e) {
  process.stderr.write(`ajv-one: cannot read ${file}: ${e.code || e.message}\n`);
  process.exit(2);
}
process.exit(compile(schemas, false)(document) ? 0 : 1);

#!/usr/bin/env node
// ajv-bench.js: the anchor of the validation benchmarks. ajv 8 validates the same NDJSON corpus
// against the same request schema as sipcontract-bench-validate, JSON.parse included.
//
//   node ajv-bench.js --corpus corpus.ndjson --schemas ../contracts/v1/schemas [--threads N] [--all-errors]
//                     [--mode validate|parse] [--lines] [--min-time 1]
//
// The schema is registered so ajv does the work sipcontract does: common.json is added so the
// request schema's "$ref"s resolve, "format": "uuid" comes from ajv-formats, and the custom keyword
// x-sipcontract-equal-properties is added with a validate function that compares the two properties.
// Strict mode stays on (ajv's default): every keyword of our schemas is known to ajv or added here.
// Protocol, shared with validate_bench.cpp: the corpus is read before timing and cut into chunks of
// about 1 Mi characters (each ending at a line end); the threads (worker_threads when --threads > 1)
// take the next chunk from one shared counter (Atomics) until the work runs out, so that a thread the
// host slows does less of it instead of holding the others idle at the end. One untimed warm-up pass
// over the corpus that way (it also lets V8 optimise, and sizes the passes), then P timed passes, P
// chosen so the run lasts about --min-time.
// --lines (--mode validate only) is the anchor of `sipcontract validate --ndjson --format json`: ajv
// with allErrors, and for every document a JSON line built with JSON.stringify, shaped as the CLI's
// records are (a valid one, a refused one with every finding, a line JSON.parse rejects), appended
// to a per-thread string and written out in chunks of about 64 KiB, so that making and writing the
// output is paid on each thread as the CLI pays it. The sink is /dev/null: see LINES_SINK.
// Prints one JSON line (with "lines": true under --lines).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

const EQUAL_KEYWORD = 'x-sipcontract-equal-properties';

// Where --lines writes its JSON lines, with fs.writeSync on a descriptor each thread opens before
// timing. The CLI's row writes into a pipe that grep reads, so a slow reader could hold it back;
// /dev/null takes every write at once and keeps ajv's side from being limited by any reader. The
// asymmetry favours ajv, if anything: ajv pays for building and writing its lines (the write
// system call and the UTF-8 encoding of each chunk), never for a pipe's reader.
const LINES_SINK = '/dev/null';
// A thread's buffered lines are written out once they pass this many characters (about 64 KiB).
const LINES_CHUNK = 64 * 1024;
// The characters of a chunk of the shared queue, about (a chunk ends at a line end). Chunks of 64 Ki
// characters cost ajv 5-15% here (V8 runs many short passes slower), 1 Mi none, and the threads'
// shared tail is one chunk a run, not one a pass.
const QUEUE_CHUNK = 1024 * 1024;

function parseArgs(argv) {
  const args = { corpus: null, schemas: path.join(__dirname, '..', 'contracts', 'v1', 'schemas'), threads: 1, allErrors: false,
                 mode: 'validate', lines: false, minTime: 1.0 };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--corpus') args.corpus = value();
    else if (a === '--schemas') args.schemas = value();
    else if (a === '--threads') args.threads = Number(value());
    else if (a === '--all-errors') args.allErrors = true;
    else if (a === '--mode') args.mode = value();
    else if (a === '--lines') args.lines = true;
    else if (a === '--min-time') args.minTime = Number(value());
    else fail(`unknown argument ${a}`);
  }
  if (!args.corpus) fail('--corpus is required');
  if (!Number.isInteger(args.threads) || args.threads < 0 || args.threads > 256) fail('--threads must be 0..256');
  if (args.threads === 0) args.threads = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  if (!['validate', 'parse'].includes(args.mode)) fail('--mode must be validate or parse');
  if (args.lines && args.mode !== 'validate') fail('--lines needs --mode validate');
  if (args.lines) args.allErrors = true;  // every finding of a refused document, as the CLI writes them
  if (!(args.minTime > 0)) fail('--min-time must be > 0');
  return args;
}

function fail(message) {
  process.stderr.write(`ajv-bench: ${message}\n`);
  process.exit(2);
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);  // only reached for objects and arrays: never on this corpus
}

/// Compiles the request schema the way a user of ajv would, doing the same checks as sipcontract.
function compile(schemaDir, allErrors) {
  const Ajv = require('ajv');
  const addFormats = require('ajv-formats');
  const ajv = new Ajv({ allErrors });
  addFormats(ajv, ['uuid']);
  ajv.addKeyword({
    keyword: EQUAL_KEYWORD,
    type: 'object',
    schemaType: 'object',
    errors: false,
    // { "password_confirmation": "password" }: each key must equal the property it names, when both are present
    // (a missing one is "required"'s business).
    validate(schema, data) {
      for (const key in schema) {
        const other = schema[key];
        if (key in data && other in data && !deepEqual(data[key], data[other])) return false;
      }
      return true;
    },
  });
  const read = (name) => JSON.parse(fs.readFileSync(path.join(schemaDir, name), 'utf8'));
  ajv.addSchema(read('common.json'));
  return ajv.compile(read('create-sip-endpoint.request.json'));
}

/// Calls visit(doc, error, index) for each non-empty line of `text`: the parsed document, or
/// JSON.parse's error (doc undefined); index is the line's 0-based number in `text`, empty lines
/// counted.
function eachDocument(text, visit) {
  let start = 0;
  let index = 0;
  const end = text.length;
  while (start < end) {
    let nl = text.indexOf('\n', start);
    if (nl === -1) nl = end;
    if (nl > start) {
      let doc;
      let error = null;
      try {
        doc = JSON.parse(text.slice(start, nl));
      } catch (e) {
        error = e;
      }
      visit(doc, error, index);
    }
    start = nl + 1;
    ++index;
  }
}

/// One pass over a slice: split at '\n', JSON.parse, validate; returns { docs, valid, errors }.
function runPass(text, mode, validate) {
  let docs = 0;
  let valid = 0;
  let errors = 0;
  eachDocument(text, (doc, error) => {
    ++docs;
    if (error) {
      ++errors;
    } else if (mode === 'parse' || validate(doc)) {
      ++valid;
    } else {
      errors += validate.errors.length;
    }
  });
  return { docs, valid, errors };
}

/// A refused document's findings as the CLI's records carry them, keys in the CLI's order
/// (alphabetical): the enum's allowed values, required's missing property.
function findingsOf(errors) {
  const findings = new Array(errors.length);
  for (let i = 0; i < errors.length; ++i) {
    const e = errors[i];
    const f = {};
    if (e.keyword === 'enum') f.allowed = e.params.allowedValues;
    f.keyword = e.keyword;
    f.message = e.message;
    f.pointer = e.instancePath;
    if (e.keyword === 'required') f.property = e.params.missingProperty;
    findings[i] = f;
  }
  return findings;
}

/// The --lines pass over a slice: as runPass, and a JSON line per document (the CLI's shapes), plus
/// a summary line at the end when `summary` is set (the slice that ends the corpus: one a pass, as
/// the CLI ends each file; its counts are the slice's), appended to a string and written to fd in
/// chunks of LINES_CHUNK characters; the rest is written before the pass returns. firstLine is the
/// slice's first line number in the corpus (1-based). Returns { docs, valid, errors, written }.
function runPassLines(text, validate, file, firstLine, fd, summary) {
  let docs = 0;
  let valid = 0;
  let errors = 0;
  let notJson = 0;
  let findingsTotal = 0;
  let written = 0;
  let out = '';
  eachDocument(text, (doc, error, index) => {
    ++docs;
    const line = firstLine + index;
    let record;
    if (error) {
      ++errors;
      ++notJson;
      record = { error: { kind: 'parse', message: error.message }, file, line, valid: false };
    } else if (validate(doc)) {
      ++valid;
      record = { file, findings: [], line, valid: true };
    } else {
      const errs = validate.errors;
      errors += errs.length;
      findingsTotal += errs.length;
      record = { file, findings: findingsOf(errs), line, valid: false };
    }
    out += JSON.stringify(record) + '\n';
    if (out.length >= LINES_CHUNK) {
      written += fs.writeSync(fd, out);
      out = '';
    }
  });
  if (summary) {
    out += JSON.stringify({ file, summary: { documents: docs, findings: findingsTotal, invalid: docs - valid - notJson,
                                             not_json: notJson, valid } }) + '\n';
  }
  if (out.length > 0) written += fs.writeSync(fd, out);
  return { docs, valid, errors, written };
}

/// Cuts the corpus text into n slices of about equal size, each ending at a line end.
function sliceCorpus(text, n) {
  const slices = [];
  let start = 0;
  for (let i = 0; i < n; ++i) {
    let stop = i + 1 === n ? text.length : Math.floor((text.length * (i + 1)) / n);
    if (stop < text.length) {
      const nl = text.indexOf('\n', Math.max(stop, start));
      stop = nl === -1 ? text.length : nl + 1;
    }
    slices.push(text.slice(start, stop));
    start = stop;
  }
  return slices;
}

/// One pass of the mode asked for: runPass, or runPassLines under --lines (opts: file, firstLine, fd,
/// summary).
function makePass(text, mode, validate, opts) {
  if (opts.lines) return () => runPassLines(text, validate, opts.file, opts.firstLine, opts.fd, opts.summary);
  return () => runPass(text, mode, validate);
}

/// Lines before each slice: the first line number of each (1-based), for --lines' records.
function firstLines(slices) {
  const first = [];
  let line = 1;
  for (const slice of slices) {
    first.push(line);
    for (let i = slice.indexOf('\n'); i !== -1; i = slice.indexOf('\n', i + 1)) ++line;
  }
  return first;
}

/// Adds one pass's counts to `total`.
function addCounts(total, r) {
  total.docs += r.docs;
  total.valid += r.valid;
  total.errors += r.errors;
  total.written += r.written || 0;
}

function workerMain() {
  const { chunks, mode, schemas, allErrors, lines, file, firstLines: first, shared } = workerData;
  const next = new Int32Array(shared);
  const validate = mode === 'parse' ? null : compile(schemas, allErrors);
  // Under --lines each thread writes its own output, on its own descriptor, opened before timing.
  const fd = lines ? fs.openSync(LINES_SINK, 'w') : -1;
  const passes = chunks.map((chunk, i) =>
    makePass(chunk, mode, validate, { lines, file, firstLine: first[i], fd, summary: i + 1 === chunks.length }));
  parentPort.postMessage({ type: 'ready' });
  // Each 'go' hands out work items [0, items): item k is chunk k % chunks.length.
  parentPort.on('message', (msg) => {
    const total = { docs: 0, valid: 0, errors: 0, written: 0 };
    for (let k; (k = Atomics.add(next, 0, 1)) < msg.items;) addCounts(total, passes[k % passes.length]());
    parentPort.postMessage({ type: 'done', total });
    if (msg.last) parentPort.close();
  });
}

function report(args, bytes, warm, passes, seconds, timedErrors, cpu0) {
  const cpu = process.cpuUsage(cpu0);  // the whole process, worker threads included
  const docs = warm.docs * passes;
  const out = {
    bench: `ajv-${args.mode === 'parse' ? 'json_parse' : args.lines ? 'lines' : args.allErrors ? 'all_errors' : 'validate'}`,
    ajv_version: require('ajv/package.json').version,
    node_version: process.version,
    threads: args.threads,
    docs: warm.docs,
    bytes,
    valid: warm.valid,
    passes,
    seconds,
    docs_per_s: docs / seconds,
    mb_per_s: (bytes * passes) / seconds / 1e6,
    cpus_used: (cpu.user + cpu.system) / 1e6 / seconds,
  };
  if (args.allErrors) out.errors_per_pass = warm.errors;
  if (args.lines) {
    out.lines = true;  // ajv allErrors writing a JSON line per document: summarize.js tells this anchor by it
    out.sink = LINES_SINK;
    out.bytes_written_per_pass = warm.written;  // every thread's lines and summary lines, one pass
  }
  process.stdout.write(JSON.stringify(out) + '\n');
  if (timedErrors !== warm.errors * passes) {
    process.stderr.write('ajv-bench: the timed passes disagreed with the warm-up pass\n');
    process.exitCode = 3;
  }
}

function mainSingle(args, text, bytes) {
  const validate = args.mode === 'parse' ? null : compile(args.schemas, args.allErrors);
  const pass = makePass(text, args.mode, validate, { lines: args.lines, file: args.corpus, firstLine: 1,
                                                     fd: args.lines ? fs.openSync(LINES_SINK, 'w') : -1, summary: true });
  const w0 = process.hrtime.bigint();
  const warm = pass();
  const warmSeconds = Number(process.hrtime.bigint() - w0) / 1e9;
  const passes = Math.max(1, Math.ceil(args.minTime / Math.max(warmSeconds, 1e-6)));
  let errors = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < passes; ++i) errors += pass().errors;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  report(args, bytes, warm, passes, seconds, errors, cpu0);
}

function mainThreads(args, text, bytes) {
  const chunks = sliceCorpus(text, Math.max(1, Math.ceil(text.length / QUEUE_CHUNK)));
  const first = args.lines ? firstLines(chunks) : chunks.map(() => 1);
  const shared = new SharedArrayBuffer(4);
  const next = new Int32Array(shared);
  const workers = [];
  for (let i = 0; i < args.threads; ++i) {
    workers.push(new Worker(__filename, { workerData: { chunks, mode: args.mode, schemas: args.schemas, allErrors: args.allErrors,
                                                        lines: args.lines, file: args.corpus, firstLines: first, shared } }));
  }
  // Phases: every worker ready; the warm-up (one pass, timed to size the rest); the timed passes.
  let ready = 0;
  let done = 0;
  let phase = 'warm';
  let warm = null;
  let passes = 0;
  let t0 = 0n;
  let cpu0 = null;
  let total = { docs: 0, valid: 0, errors: 0, written: 0 };
  const go = (items, last) => {
    Atomics.store(next, 0, 0);
    done = 0;
    total = { docs: 0, valid: 0, errors: 0, written: 0 };
    t0 = process.hrtime.bigint();
    for (const w of workers) w.postMessage({ items, last });
  };
  for (const w of workers) {
    w.on('error', (e) => fail(`worker failed: ${e.message}`));
    w.on('message', (msg) => {
      if (msg.type === 'ready') {
        if (++ready === workers.length) go(chunks.length, false);
        return;
      }
      addCounts(total, msg.total);
      if (++done < workers.length) return;
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (phase === 'warm') {
        phase = 'timed';
        warm = total;
        passes = Math.max(1, Math.ceil(args.minTime / Math.max(seconds, 1e-6)));
        cpu0 = process.cpuUsage();
        go(passes * chunks.length, true);
      } else {
        report(args, bytes, warm, passes, seconds, total.errors, cpu0);
      }
    });
  }
}

module.exports = { compile };

if (require.main === module && isMainThread) {
  const args = parseArgs(process.argv.slice(2));
  let buffer;
  try {
    buffer = fs.readFileSync(args.corpus);
  } catch (e) {
    fail(`cannot read ${args.corpus}: ${e.code || e.message}`);
  }
  const text = buffer.toString('utf8');
  if (!/[^\s]/.test(text)) fail(`${args.corpus} holds no document`);
  if (args.threads === 1) mainSingle(args, text, buffer.length);
  else mainThreads(args, text, buffer.length);
} else if (require.main === module) {
  workerMain();
}

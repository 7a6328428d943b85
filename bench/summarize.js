#!/usr/bin/env node
// summarize.js: turns the raw results of bench/run.sh (one JSON line per measurement:
// {"id","rep","result"}) into the table run.sh prints: per figure, the median of ours, the median of
// its anchor, their ratio and the target verdict.
//
//   node summarize.js bench/out/results.ndjson [--markdown]
//
// The ratio is the median of the per-repetition ratios: run.sh measures ours and the anchor back to
// back in each repetition, so each ratio shares that moment's noise. Exits 1 if a check of the
// measurements themselves fails (the validators disagree on the corpus, too few 201s), not when a
// target is missed: a missed target is a finding, reported as MISS. A target row where a side ran
// with much less CPU than its threads (the host took it) is reported as UNSURE, without a verdict.
'use strict';

const fs = require('fs');

// kind: 'rate' (higher is better) or 'time' (lower is better). target: {min} on ours/anchor for
// rates, {max} for times. unit formats the value.
const FIGURES = [
  { group: 'Validation: bytes to verdicts (docs/s; below: MB/s and the CPUs the run really used)' },
  { title: 'library check(), 1 thread', ours: 'lib_check_1', anchor: 'ajv_1', anchorTitle: 'ajv, 1 thread',
    metric: 'docs_per_s', also: 'mb_per_s', target: { min: 1.0 } },
  { title: 'library check(), all cores', ours: 'lib_check_n', anchor: 'ajv_n', anchorTitle: 'ajv, all cores',
    metric: 'docs_per_s', also: 'mb_per_s', target: { min: 2.0 } },
  { title: 'library check(), all cores', ours: 'lib_check_n', anchor: 'ajv_1', anchorTitle: 'ajv, 1 thread',
    metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'library validate_text() (findings), 1 thread', ours: 'lib_validate_text_1', anchor: 'ajv_all_1',
    anchorTitle: 'ajv allErrors, 1 thread', metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'library validate_text() (findings), all cores', ours: 'lib_validate_text_n', anchor: 'ajv_all_n',
    anchorTitle: 'ajv allErrors, all cores', metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'parse_json + is_valid(), 1 thread', ours: 'lib_is_valid_1', anchor: 'ajv_1', anchorTitle: 'ajv, 1 thread',
    metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'parse_json + validate(), 1 thread', ours: 'lib_validate_1', anchor: 'ajv_all_1',
    anchorTitle: 'ajv allErrors, 1 thread', metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'sipcontract validate --ndjson -j 1 (process)', ours: 'cli_ndjson', anchor: 'ajv_1', anchorTitle: 'ajv, 1 thread',
    metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'sipcontract validate --ndjson, all cores', ours: 'cli_ndjson_n', anchor: 'ajv_n', anchorTitle: 'ajv, all cores',
    metric: 'docs_per_s', also: 'mb_per_s', target: { min: 2.0 } },
  // The same JSON lines against ajv doing their work (ajv-bench.js --lines, --only ndjson): allErrors,
  // a JSON line per document built and written out (to /dev/null; ours goes to a pipe). Informational.
  { title: 'sipcontract validate --ndjson, all cores', ours: 'cli_ndjson_n', anchor: 'ajv_lines_n',
    anchorTitle: 'ajv allErrors, a JSON line per doc', metric: 'docs_per_s', also: 'mb_per_s' },
  // The target row's lines into /dev/null, where ajv's lines above go too, against the target row's
  // anchor: that row without what the pipe's reader (grep) takes from the same cores. Informational.
  { title: 'validate --ndjson, all cores, into /dev/null', ours: 'cli_ndjson_nowhere_n', anchor: 'ajv_n',
    anchorTitle: 'ajv, all cores', metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'sipcontract validate --ndjson, all cores', ours: 'cli_ndjson_n', anchor: 'cli_ndjson_quiet_n',
    anchorTitle: 'the same with --quiet', metric: 'docs_per_s', also: 'mb_per_s', target: { min: 0.8 } },
  { title: 'sipcontract validate --ndjson --quiet, all cores', ours: 'cli_ndjson_quiet_n', anchor: 'ajv_n',
    anchorTitle: 'ajv, all cores', metric: 'docs_per_s', also: 'mb_per_s' },
  // The ceiling of the JSON-lines row: the same row on as many documents, all valid, so no finding
  // is made or written. Against ajv on the usual corpus, which refuses a tenth of it at the first
  // error: what the JSON-lines row would reach if findings cost nothing.
  { title: 'validate --ndjson, all cores, all-valid corpus', ours: 'cli_ndjson_valid_n', anchor: 'ajv_n',
    anchorTitle: 'ajv, all cores (usual corpus)', metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'validate --ndjson, all cores, all-valid corpus', ours: 'cli_ndjson_valid_n', anchor: 'cli_ndjson_quiet_n',
    anchorTitle: '--quiet (usual corpus)', metric: 'docs_per_s', also: 'mb_per_s' },
  // The ceiling against --quiet on its own corpus, and in two parts with no finding made anywhere:
  // the records written (into /dev/null), then the pipe's reader (grep) on the same cores.
  { title: 'validate --ndjson, all cores, all-valid corpus', ours: 'cli_ndjson_valid_n', anchor: 'cli_ndjson_quiet_valid_n',
    anchorTitle: '--quiet, all-valid corpus', metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'validate --ndjson, all-valid, into /dev/null', ours: 'cli_ndjson_nowhere_valid_n', anchor: 'cli_ndjson_quiet_valid_n',
    anchorTitle: '--quiet, all-valid corpus', metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'validate --ndjson, all cores, all-valid corpus', ours: 'cli_ndjson_valid_n', anchor: 'cli_ndjson_nowhere_valid_n',
    anchorTitle: 'all-valid corpus, into /dev/null', metric: 'docs_per_s', also: 'mb_per_s' },
  // The JSON-lines row's distance to --quiet in two parts: making and writing the lines, into
  // /dev/null where nothing reads them; then what the pipe's reader (grep) takes from the same cores.
  { title: 'validate --ndjson, all cores, into /dev/null', ours: 'cli_ndjson_nowhere_n', anchor: 'cli_ndjson_quiet_n',
    anchorTitle: 'the same with --quiet', metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'sipcontract validate --ndjson, all cores', ours: 'cli_ndjson_n', anchor: 'cli_ndjson_nowhere_n',
    anchorTitle: 'the same into /dev/null', metric: 'docs_per_s', also: 'mb_per_s' },
  // What the findings cost in the library itself, with no process, no reading and no record written:
  // the part of the JSON lines' distance to --quiet that is the findings', not the output's.
  // (--only ndjson's own run of them: one process, the two modes' passes interleaved, so that the
  // host's change of speed between two runs is not in this row.)
  { title: 'library validate_text() (findings), all cores', ours: 'lib_validate_text_nd', anchor: 'lib_check_nd',
    anchorTitle: 'library check(), all cores', metric: 'docs_per_s', also: 'mb_per_s' },
  // And what the CLI adds to them: its process, its reading, and its records (into /dev/null).
  { title: 'validate --ndjson, all cores, into /dev/null', ours: 'cli_ndjson_nowhere_n', anchor: 'lib_validate_text_nd',
    anchorTitle: 'library validate_text(), all cores', metric: 'docs_per_s', also: 'mb_per_s' },
  { group: 'Parser ceilings: parsing alone, no validation (docs/s)' },
  { title: 'library check(), 1 thread', ours: 'lib_check_1', anchor: 'simdjson_1',
    anchorTitle: 'simdjson parse only (its parser)', metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'simdjson parse only, 1 thread', ours: 'simdjson_1', anchor: 'ajv_1',
    anchorTitle: 'ajv, 1 thread', metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'nlohmann::json::parse only, 1 thread', ours: 'parse_1', anchor: 'ajv_1',
    anchorTitle: 'ajv, 1 thread', metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'nlohmann SAX, null handler (lexer only)', ours: 'sax_1', anchor: 'ajv_1',
    anchorTitle: 'ajv, 1 thread', metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'RapidJSON parse only (UTF-8 checked)', ours: 'rapidjson_1', anchor: 'ajv_1',
    anchorTitle: 'ajv, 1 thread', metric: 'docs_per_s', also: 'mb_per_s' },
  { title: 'nlohmann::json::parse only, 1 thread', ours: 'parse_1', anchor: 'json_parse_1',
    anchorTitle: 'node JSON.parse only', metric: 'docs_per_s', also: 'mb_per_s' },
  { group: 'Server: wrk POSTing valid creates over loopback' },
  { title: 'sipcontract serve, requests/s', ours: 'serve', anchor: 'bare', anchorTitle: 'bare cpp-httplib 201',
    metric: 'requests_per_s', target: { min: 1.0 } },
  { title: 'sipcontract serve, p99 latency (ms)', ours: 'serve', anchor: 'bare', anchorTitle: 'bare cpp-httplib 201',
    metric: 'latency_p99_ms', kind: 'time' },
  { group: 'Runner: the full contract suite against a fresh reference server (seconds per suite)' },
  { title: 'run_contract_tests(), in process', ours: 'runner', anchor: 'raw_loop',
    anchorTitle: 'raw cpp-httplib loop, same requests', metric: 'seconds', kind: 'time', target: { max: 1.15 } },
  { title: 'run_contract_tests(), in process', ours: 'runner', anchor: 'raw_loop_nagle',
    anchorTitle: 'raw loop without TCP_NODELAY', metric: 'seconds', kind: 'time' },
  { title: 'sipcontract run (process, own server)', ours: 'runner_process', anchor: 'raw_process',
    anchorTitle: 'raw loop process, own server', metric: 'seconds', kind: 'time', target: { max: 1.15 } },
  { group: 'One request body per call: a process that validates one file (seconds per call)' },
  { title: 'sipcontract validate request FILE', ours: 'cli_one', anchor: 'ajv_one',
    anchorTitle: 'node + ajv (bench/ajv-one.js)', metric: 'seconds', kind: 'time' },
];

function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(value, metric) {
  if (!Number.isFinite(value)) return 'n/a';
  if (metric === 'docs_per_s' || metric === 'requests_per_s') return Math.round(value).toLocaleString('en-US');
  if (metric === 'mb_per_s') return `${value.toFixed(1)} MB/s`;
  if (metric === 'latency_p99_ms') return `${value.toFixed(2)} ms`;
  if (metric === 'seconds') return value < 0.1 ? `${(1000 * value).toFixed(2)} ms` : `${value.toFixed(3)} s`;
  return String(value);
}

function main() {
  const args = process.argv.slice(2);
  const markdown = args.includes('--markdown');
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    process.stderr.write('usage: summarize.js RESULTS.ndjson [--markdown]\n');
    process.exit(2);
  }
  const byId = new Map();  // id -> Map(rep -> result)
  let corpus = null;
  let validCorpus = null;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const row = JSON.parse(line);
    if (row.id === 'corpus') corpus = row.result;
    if (row.id === 'corpus_valid') validCorpus = row.result;
    if (!byId.has(row.id)) byId.set(row.id, new Map());
    byId.get(row.id).set(row.rep, row.result);
  }
  const values = (id, metric) => [...(byId.get(id) || new Map()).values()].map((r) => r[metric]);
  const problems = [];

  // The same work or no comparison: every validator must give the corpus the verdicts it was built with.
  if (corpus) {
    for (const id of ['lib_check_1', 'lib_check_n', 'lib_validate_text_1', 'lib_validate_text_n', 'lib_check_nd',
                      'lib_validate_text_nd', 'lib_is_valid_1', 'lib_validate_1', 'ajv_1', 'ajv_n', 'ajv_all_1',
                      'ajv_all_n', 'ajv_lines_n', 'cli_ndjson', 'cli_ndjson_n']) {
      for (const [rep, r] of byId.get(id) || []) {
        if (r.valid !== undefined && r.valid !== corpus.expected_valid) {
          problems.push(`${id} rep ${rep}: ${r.valid} documents valid, the corpus was built with ${corpus.expected_valid}`);
        }
      }
    }
  }
  // The CLI must have finished with the corpus's verdict: 0 on the all-valid corpus, 1 on the usual
  // one (it refuses a tenth); anything else (a crash, the time limit, a usage error) voids the run.
  const onValidCorpus = ['cli_ndjson_valid_n', 'cli_ndjson_quiet_valid_n', 'cli_ndjson_nowhere_valid_n'];
  for (const id of ['cli_ndjson', 'cli_ndjson_n', 'cli_ndjson_quiet_n', 'cli_ndjson_nowhere_n', ...onValidCorpus]) {
    const allValid = onValidCorpus.includes(id) || (corpus && corpus.expected_valid === corpus.docs);
    for (const [rep, r] of byId.get(id) || []) {
      if (r.exit !== undefined && r.exit !== (allValid ? 0 : 1))
        problems.push(`${id} rep ${rep}: sipcontract validate exited ${r.exit}, not ${allValid ? 0 : 1}`);
    }
  }
  // The ceiling's corpus must be all valid, and read so by the CLI.
  if (validCorpus && validCorpus.expected_valid !== validCorpus.docs)
    problems.push(`the all-valid corpus was built with ${validCorpus.docs - validCorpus.expected_valid} invalid documents`);
  for (const [rep, r] of byId.get('cli_ndjson_valid_n') || []) {
    if (!validCorpus || r.valid !== validCorpus.expected_valid)
      problems.push(`cli_ndjson_valid_n rep ${rep}: ${r.valid} documents valid, the all-valid corpus has ${validCorpus ? validCorpus.docs : '?'}`);
  }
  // The JSON-lines anchor must be ajv-bench.js --lines (it says so), not a plain ajv run under its id.
  for (const [rep, r] of byId.get('ajv_lines_n') || []) {
    if (r.lines !== true) problems.push(`ajv_lines_n rep ${rep}: not a --lines run of ajv-bench.js (bench ${r.bench})`);
  }
  for (const [rep, r] of byId.get('serve') || []) {
    if (!(r.share_201 >= 0.99)) problems.push(`serve rep ${rep}: only ${(100 * r.share_201).toFixed(2)}% of answers were 201`);
  }
  for (const [rep, r] of byId.get('bare') || []) {
    if (!(r.share_201 >= 0.99)) problems.push(`bare rep ${rep}: only ${(100 * r.share_201).toFixed(2)}% of answers were 201`);
  }

  // How many CPUs a measurement really had (CPU time / wall time): on a shared machine an
  // "all cores" run may get far less than every core, and this says so next to its figure.
  const withCpus = (text, id) => {
    const cpus = median(values(id, 'cpus_used'));
    return Number.isFinite(cpus) ? `${text}, ${cpus.toFixed(2)} CPU` : text;
  };
  // A target row says "all cores" (or one thread): a side that had much less CPU than the threads it
  // ran (CPU time / wall time; the host's other work took the rest) did not measure that, and its
  // ratio moves with what the host took, not with the code. Such a row gets no verdict (UNSURE),
  // and a line says which side lacked what. A full run on a quiet 2-core machine: 1.86-1.98.
  const kMinShare = 0.9;
  const short = (id) => {
    const cpus = median(values(id, 'cpus_used'));
    const threads = median(values(id, 'threads').concat(values(id, 'jobs')));
    return Number.isFinite(cpus) && Number.isFinite(threads) && cpus < kMinShare * threads
      ? `${cpus.toFixed(2)} CPU for ${threads} thread${threads === 1 ? '' : 's'}` : '';
  };
  const unsure = [];
  const rows = [];
  for (const f of FIGURES) {
    if (f.group) {
      rows.push({ group: f.group });
      continue;
    }
    if (!byId.has(f.ours) || !byId.has(f.anchor)) continue;  // a part not run (--only)
    const ours = byId.get(f.ours);
    const anchor = byId.get(f.anchor) || new Map();
    const ratios = [];
    for (const [rep, r] of ours) {
      if (anchor.has(rep)) ratios.push(r[f.metric] / anchor.get(rep)[f.metric]);
    }
    const ratio = median(ratios);
    let verdict = '';
    if (f.target && Number.isFinite(ratio)) {
      verdict = f.target.min !== undefined ? (ratio >= f.target.min ? 'MET' : 'MISS') : (ratio <= f.target.max ? 'MET' : 'MISS');
      const lacking = [[f.title, short(f.ours)], [f.anchorTitle, short(f.anchor)]].filter(([, why]) => why);
      if (lacking.length) {
        unsure.push(`UNSURE: ${f.title} against ${f.anchorTitle} (${ratio.toFixed(2)}x, would read ${verdict}): ` +
                    lacking.map(([who, why]) => `${who} had ${why}`).join('; ') +
                    ` (under ${Math.round(100 * kMinShare)}% of its threads): the run did not have its cores (the host's ` +
                    `other work, or a run too short for its start-up), so no verdict; rerun on a quiet machine`);
        verdict = 'UNSURE';
      }
    }
    const target = !f.target ? '' : f.target.min !== undefined ? `>= ${f.target.min.toFixed(2)}x` : `<= ${f.target.max.toFixed(2)}x`;
    rows.push({
      title: f.title,
      anchorTitle: f.anchorTitle,
      reps: ours.size,
      ours: fmt(median(values(f.ours, f.metric)), f.metric),
      anchor: fmt(median(values(f.anchor, f.metric)), f.metric),
      oursAlso: f.also ? withCpus(fmt(median(values(f.ours, f.also)), f.also), f.ours) : '',
      anchorAlso: f.also ? withCpus(fmt(median(values(f.anchor, f.also)), f.also), f.anchor) : '',
      ratio: Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : 'n/a',
      spread: ratios.length ? `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}` : '',
      target,
      verdict,
    });
  }

  // A group heading with no figure under it (a part left out with --only) is dropped.
  for (let i = rows.length - 1; i >= 0; --i) {
    if (rows[i].group && (i + 1 === rows.length || rows[i + 1].group)) rows.splice(i, 1);
  }

  const extras = [...unsure];
  // Under load an "all cores" run gets a fraction of the cores, so its docs/s says nothing about
  // scaling; docs per CPU-second does: equal on 1 and N threads means the work did not get more
  // expensive per document when spread over threads (no contention), whatever the machine gave.
  const perCpu = (id) => median([...(byId.get(id) || new Map()).values()].map((r) => r.docs_per_s / r.cpus_used));
  const scaling = [];
  for (const [one, all, name] of [['lib_check_1', 'lib_check_n', 'library check()'], ['ajv_1', 'ajv_n', 'ajv'],
                                  ['lib_validate_text_1', 'lib_validate_text_n', 'library validate_text()'],
                                  ['ajv_all_1', 'ajv_all_n', 'ajv allErrors']]) {
    const a = perCpu(one), b = perCpu(all);
    if (Number.isFinite(a) && Number.isFinite(b)) {
      scaling.push(`${name} ${fmt(a, 'docs_per_s')} -> ${fmt(b, 'docs_per_s')} (${(100 * b / a).toFixed(0)}%)`);
    }
  }
  if (scaling.length) extras.push(`docs per CPU-second, 1 thread -> all cores: ${scaling.join('; ')}`);
  const serve = byId.get('serve');
  if (serve) {
    extras.push(`serve: median share of 201 answers ${(100 * median(values('serve', 'share_201'))).toFixed(2)}%, ` +
                `p50 ${fmt(median(values('serve', 'latency_p50_ms')), 'latency_p99_ms')}; bare p50 ` +
                `${fmt(median(values('bare', 'latency_p50_ms')), 'latency_p99_ms')}`);
  }
  if (byId.has('runner')) {
    const r = [...byId.get('runner').values()][0];
    const raw = [...(byId.get('raw_loop') || new Map()).values()][0] || {};
    extras.push(`runner: ${r.cases} cases, ${r.steps_per_suite} case steps per suite (${r.passed} passed, ` +
                `${r.failed} failed, ${r.skipped} skipped), jobs ${r.jobs}; the raw loop: ${raw.requests} requests per ` +
                `suite (preflight list, steps, read-back GETs, ${raw.deleted} cleanup deletes, a list of each subscriber ` +
                `and a read-back of each deleted endpoint), statuses ${JSON.stringify(raw.statuses)}`);
    // The server's count of one untimed suite of each, every repetition: a ratio means nothing if they differ.
    const census = [...(byId.get('runner_requests') || new Map()).values()];
    const differs = census.find((c) => !c.same);
    if (differs)
      extras.push(`WARNING: the raw loop no longer sends what the runner sends (server's count: runner ` +
                  `${JSON.stringify(differs.runner)}, raw loop ${JSON.stringify(differs.raw_loop)}); the runner ratios are not comparable`);
    else if (census.length)
      extras.push(`runner and raw loop sent the same requests by the server's count (${census[0].runner_total} a suite)`);
  }
  if (corpus) {
    extras.push(`corpus: ${corpus.docs} documents, ${(corpus.bytes / 1e6).toFixed(1)} MB, seed ${corpus.seed}, ` +
                `${corpus.expected_valid} valid (${(100 - (100 * corpus.expected_valid) / corpus.docs).toFixed(1)}% invalid), ` +
                `${corpus.enum_values_seen} of the ${corpus.enum_values} request enum values used`);
  }

  if (markdown) {
    console.log('| figure | ours (median) | anchor | anchor (median) | ratio (min-max) | target | verdict |');
    console.log('|---|---:|---|---:|---:|---:|---|');
    for (const r of rows) {
      if (r.group) {
        console.log(`| **${r.group}** | | | | | | |`);
        continue;
      }
      const o = r.oursAlso ? `${r.ours}<br>${r.oursAlso}` : r.ours;
      const a = r.anchorAlso ? `${r.anchor}<br>${r.anchorAlso}` : r.anchor;
      console.log(`| ${r.title} | ${o} | ${r.anchorTitle} | ${a} | ${r.ratio} (${r.spread}) | ${r.target} | ${r.verdict} |`);
    }
  } else {
    const pad = (s, n) => String(s).padEnd(n);
    const lpad = (s, n) => String(s).padStart(n);
    console.log(`${pad('figure', 46)} ${lpad('ours', 22)}  ${pad('anchor', 34)} ${lpad('anchor', 22)} ${lpad('ratio', 7)} ${pad(' (min-max)', 12)} ${pad('target', 9)} verdict`);
    for (const r of rows) {
      if (r.group) {
        console.log(`\n${r.group}`);
        continue;
      }
      console.log(`${pad(r.title, 46)} ${lpad(r.ours, 22)}  ${pad(r.anchorTitle, 34)} ${lpad(r.anchor, 22)} ${lpad(r.ratio, 7)} ${pad(` (${r.spread})`, 12)} ${pad(r.target, 9)} ${r.verdict}`);
      if (r.oursAlso) console.log(`${pad('', 46)} ${lpad(r.oursAlso, 22)}  ${pad('', 34)} ${lpad(r.anchorAlso, 22)}`);
    }
  }
  console.log('');
  for (const e of extras) console.log(markdown ? `- ${e}` : e);
  console.log(`medians of ${Math.max(0, ...[...byId.values()].map((m) => m.size))} repetitions; ratio = median of per-repetition ratios (ours / anchor, measured back to back)`);
  for (const p of problems) console.log(`CHECK FAILED: ${p}`);
  process.exit(problems.length ? 1 : 0);
}

main();

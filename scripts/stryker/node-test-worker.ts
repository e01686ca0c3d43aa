// Runs node:test test files for Stryker (see node-test-runner.ts), one test at a time, as often as asked.
//
// node:test runs a file's tests as it loads them and offers no way to pick tests by id, to run them again, or to
// learn which code each test ran. So this process swaps `test` and `describe` for recorders before the files load
// (node:module's syncBuiltinESMExports makes ES-module imports of `node:test` see the swap), then calls the
// recorded functions itself, telling Stryker's instrumented code which test runs and which mutant is active. Only
// what the project's unit and golden tests use is supported; anything else fails loudly at load time instead of
// running differently.
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

/** First message: load the test files. `activeMutant` is set for a mutant in module-level code (a constant regex),
 * which acts only while the files load; such a worker serves that one mutant. */
export interface LoadJob {
  type: 'load';
  /** Relative to the working directory (the sandbox); test ids start with them. */
  files: string[];
  activeMutant?: string;
}

export interface RunJob {
  type: 'run';
  /** Ids of the tests to run, in order; every loaded test when absent. */
  tests?: string[];
  activeMutant?: string;
  hitLimit?: number;
  /** Report the mutants the run reached: in all, or for each test (Stryker's coverage analysis). */
  coverage?: 'all' | 'perTest';
  /** Stop at the first failing test. */
  bail: boolean;
}

export interface WorkerTestResult {
  id: string;
  file: string;
  status: 'passed' | 'failed' | 'skipped';
  failureMessage?: string;
  timeSpentMs: number;
}

export type WorkerReply =
  | { type: 'loaded'; loadError?: string }
  | { type: 'result'; tests: WorkerTestResult[]; mutantCoverage?: unknown; hitCount?: number }
  /** Something failed between two runs (a promise a test left behind): this process can no longer be trusted. */
  | { type: 'stale'; error: string };

interface StrykerGlobal {
  activeMutant?: string;
  currentTestId?: string;
  hitLimit?: number;
  hitCount?: number;
  mutantCoverage?: unknown;
}

interface Recorded {
  id: string;
  file: string;
  fn: (() => unknown) | undefined;
  skip: boolean;
}

const recorded: Recorded[] = [];
const byId = new Map<string, Recorded>();
const suites: string[] = [];
let loadingFile = '';
let loaded = false;

function unsupported(what: string): never {
  throw new Error(`stryker node-test runner: ${what} is not supported (${loadingFile || 'while a test runs'}); extend scripts/stryker/node-test-worker.ts`);
}

/** node:test's (name?, options?, fn?) argument forms. */
function parseArgs(args: unknown[]): { name: string; skip: boolean; fn: (() => unknown) | undefined } {
  let name = '';
  let options: Record<string, unknown> = {};
  let fn: ((...a: unknown[]) => unknown) | undefined;
  for (const a of args) {
    if (typeof a === 'string') name = a;
    else if (typeof a === 'function') fn = a as (...a: unknown[]) => unknown;
    else if (a !== null && typeof a === 'object') options = a as Record<string, unknown>;
  }
  for (const k of Object.keys(options)) if (!['skip', 'todo', 'timeout'].includes(k)) unsupported(`the test option ${k}`);
  if (fn && fn.length > 0) unsupported(`a test function that takes node:test's context (${name})`);
  return { name: name || fn?.name || '<anonymous>', skip: Boolean(options.skip) || Boolean(options.todo), fn };
}

function recordTest(...args: unknown[]): Promise<void> {
  if (loaded) unsupported('a test registered while another runs');
  const { name, skip, fn } = parseArgs(args);
  const base = [loadingFile, ...suites, name].join(' > ');
  let id = base;
  for (let n = 2; byId.has(id); n++) id = `${base} (${n})`;
  const r = { id, file: loadingFile, fn, skip };
  recorded.push(r);
  byId.set(id, r);
  return Promise.resolve();
}

function recordSuite(...args: unknown[]): Promise<void> {
  if (loaded) unsupported('a suite registered while a test runs');
  const { name, skip, fn } = parseArgs(args);
  if (skip || !fn) return Promise.resolve();
  suites.push(name);
  try {
    if (fn() instanceof Promise) unsupported(`an async describe (${name})`);
  } finally {
    suites.pop();
  }
  return Promise.resolve();
}

function installRecorders(): void {
  const require = createRequire(import.meta.url);
  const nodeTest = require('node:test') as Record<string, unknown>;
  nodeTest.test = recordTest;
  nodeTest.it = recordTest;
  nodeTest.describe = recordSuite;
  nodeTest.suite = recordSuite;
  for (const hook of ['before', 'after', 'beforeEach', 'afterEach']) nodeTest[hook] = () => unsupported(`the ${hook} hook`);
  syncBuiltinESMExports();
}

function message(e: unknown): string {
  if (e instanceof Error) return e.stack ?? e.message;
  return String(e);
}

const ns = ((globalThis as { __stryker__?: StrykerGlobal }).__stryker__ ??= {});
/** An error no test was running to own. */
let stray: unknown;
/** An error while a test runs: that test failed. */
let uncaught: unknown;
let inTest = false;
const onError = (e: unknown): void => {
  if (inTest) uncaught ??= e ?? new Error('a falsy value was thrown');
  else stray ??= e ?? new Error('a falsy value was thrown');
};
process.on('uncaughtException', onError);
process.on('unhandledRejection', onError);

async function load(job: LoadJob): Promise<WorkerReply> {
  if (job.activeMutant !== undefined) ns.activeMutant = job.activeMutant;
  installRecorders();
  try {
    for (const file of job.files) {
      loadingFile = file;
      await import(pathToFileURL(resolve(file)).href);
    }
  } catch (e) {
    return { type: 'loaded', loadError: `${loadingFile}: ${message(e)}` };
  } finally {
    loadingFile = '';
    loaded = true;
  }
  return { type: 'loaded' };
}

async function run(job: RunJob): Promise<WorkerReply> {
  if (stray !== undefined) return { type: 'stale', error: message(stray) };
  if (job.activeMutant !== undefined) ns.activeMutant = job.activeMutant;
  if (job.hitLimit !== undefined) {
    ns.hitLimit = job.hitLimit;
    ns.hitCount = 0;
  } else {
    delete ns.hitLimit;
    delete ns.hitCount;
  }
  const selected = job.tests ? job.tests.map((id) => byId.get(id) ?? id) : recorded;
  const results: WorkerTestResult[] = [];
  for (const t of selected) {
    if (typeof t === 'string') {
      results.push({ id: t, file: '', status: 'failed', failureMessage: 'no such test (renamed since the dry run?)', timeSpentMs: 0 });
      if (job.bail) break;
      continue;
    }
    if (t.skip || !t.fn) {
      results.push({ id: t.id, file: t.file, status: 'skipped', timeSpentMs: 0 });
      continue;
    }
    if (job.coverage === 'perTest') ns.currentTestId = t.id;
    uncaught = undefined;
    inTest = true;
    const start = performance.now();
    let failure: unknown;
    try {
      await t.fn();
    } catch (e) {
      failure = e ?? new Error('a falsy value was thrown');
    }
    // A rejection the test left behind surfaces before the test is judged.
    await new Promise((r) => setImmediate(r));
    inTest = false;
    failure ??= uncaught;
    ns.currentTestId = undefined;
    const timeSpentMs = performance.now() - start;
    if (failure === undefined) results.push({ id: t.id, file: t.file, status: 'passed', timeSpentMs });
    else results.push({ id: t.id, file: t.file, status: 'failed', failureMessage: message(failure), timeSpentMs });
    if (failure !== undefined && job.bail) break;
  }
  ns.activeMutant = undefined;
  return { type: 'result', tests: results, mutantCoverage: job.coverage ? ns.mutantCoverage : undefined, hitCount: ns.hitCount };
}

process.on('message', (job: LoadJob | RunJob) => {
  (job.type === 'load' ? load(job) : run(job)).then(
    (reply) => process.send!(reply),
    (e: unknown) => process.send!({ type: 'stale', error: message(e) } satisfies WorkerReply),
  );
});
// The runner went away (Stryker ended or killed it): so does this process.
process.on('disconnect', () => process.exit(0));

// A Stryker test runner for node:test files, one test at a time (`npm run mutate`, stryker.config.json).
//
// Why not @stryker-mutator/tap-runner: it starts a process per test file per mutant and records coverage per file,
// so every mutant in translate reran all golden cases four times over, and every mutant in parse.ts the
// 200,000-item file; measured here, it needed hours for the ~3,000 mutants. This runner records which mutants each
// single test reaches (a golden case, a unit test), runs only those tests for a mutant, cheapest first, and stops
// at the first failure. The tests run in a worker process (node-test-worker.ts) that loads the files once and then
// serves mutant after mutant, since starting Node and loading the instrumented code costs more than most runs.
//
// A fresh worker, used for that one mutant only, when sharing one could be wrong:
// - a mutant in module-level code (Stryker's "static" mutants) acts only while the files load;
// - a mutant in a file listed in nodeTest.isolate, which keeps module-level caches (translate's parsed Secrets) or
//   is reached only through one (certificate-security.ts, behind that cache): a warm cache would skip the mutated
//   code, and a mutated result would stay cached for the next mutant.
// A worker is also replaced after nodeTest.maxRunsPerWorker runs, after a timeout, and when an error escaped
// between two runs.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@stryker-mutator/api/logging';
import type { StrykerOptions } from '@stryker-mutator/api/core';
import { PluginKind, commonTokens, declareClassPlugin, tokens } from '@stryker-mutator/api/plugin';
import { DryRunStatus, MutantRunStatus, TestStatus, determineHitLimitReached, toMutantRunResult } from '@stryker-mutator/api/test-runner';
import type { DryRunOptions, DryRunResult, MutantRunOptions, MutantRunResult, TestResult, TestRunner, TestRunnerCapabilities } from '@stryker-mutator/api/test-runner';
import type { LoadJob, RunJob, WorkerReply, WorkerTestResult } from './node-test-worker.js';

const WORKER = fileURLToPath(new URL('./node-test-worker.js', import.meta.url));
/** Test durations from the dry run, shared with the other runner processes through the sandbox directory. */
const TIMES_FILE = '.stryker-node-test-times.json';

interface NodeTestOptions {
  testFiles: string[];
  isolate?: string[];
  maxRunsPerWorker?: number;
}

type Answer = WorkerReply | { type: 'timeout' } | { type: 'crashed'; error: string };

class Worker {
  private readonly child: ChildProcess;
  private waiting: ((a: Answer) => void) | undefined;
  private stderr = '';
  private exited: string | undefined;
  runs = 0;

  constructor() {
    this.child = fork(WORKER, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.child.on('message', (m: WorkerReply) => this.answer(m));
    this.child.on('exit', (code, signal) => {
      this.exited = `worker exited (${signal ?? code}): ${this.stderr}`;
      this.answer({ type: 'crashed', error: this.exited });
    });
  }

  /** Sends a job and waits for its answer, or kills the worker when `timeoutMs` passes first. */
  ask(job: LoadJob | RunJob, timeoutMs?: number): Promise<Answer> {
    if (this.exited) return Promise.resolve({ type: 'crashed', error: this.exited });
    return new Promise((done) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        this.kill();
        this.answer({ type: 'timeout' });
      }, timeoutMs);
      this.waiting = (a) => {
        clearTimeout(timer);
        done(a);
      };
      this.child.send(job);
    });
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }

  private answer(a: Answer): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.(a);
  }
}

export class NodeTestRunner implements TestRunner {
  static inject = tokens(commonTokens.options, commonTokens.logger);
  private readonly files: string[];
  private readonly isolate: string[];
  private readonly maxRuns: number;
  private times: Map<string, number> | undefined;
  private warm: Worker | undefined;

  constructor(options: StrykerOptions, private readonly log: Logger) {
    const own = (options as StrykerOptions & { nodeTest?: Partial<NodeTestOptions> }).nodeTest;
    if (!own?.testFiles?.length) throw new Error('stryker.config.json: nodeTest.testFiles must list the compiled test files');
    this.files = own.testFiles.map((f) => normalize(f));
    this.isolate = (own.isolate ?? []).map((f) => normalize(f));
    this.maxRuns = own.maxRunsPerWorker ?? 200;
  }

  capabilities(): TestRunnerCapabilities {
    return { reloadEnvironment: true };
  }

  async dispose(): Promise<void> {
    this.warm?.kill();
    this.warm = undefined;
    return Promise.resolve();
  }

  async dryRun(options: DryRunOptions): Promise<DryRunResult> {
    const worker = new Worker();
    try {
      const loaded = await worker.ask({ type: 'load', files: this.files });
      if (loaded.type !== 'loaded' || loaded.loadError) return { status: DryRunStatus.Error, errorMessage: describe(loaded) };
      const coverage = options.coverageAnalysis === 'off' ? undefined : options.coverageAnalysis;
      // No budget of its own: Stryker's timeout decorator applies to the dry run.
      const a = await worker.ask({ type: 'run', ...(coverage ? { coverage } : {}), bail: false });
      if (a.type !== 'result') return { status: DryRunStatus.Error, errorMessage: describe(a) };
      writeFileSync(TIMES_FILE, JSON.stringify(Object.fromEntries(a.tests.map((t) => [t.id, t.timeSpentMs]))));
      return { status: DryRunStatus.Complete, tests: a.tests.map(toTestResult), ...(coverage ? { mutantCoverage: a.mutantCoverage as never } : {}) };
    } finally {
      worker.kill();
    }
  }

  async mutantRun(options: MutantRunOptions): Promise<MutantRunResult> {
    const times = this.dryRunTimes();
    const tests = options.testFilter ? [...options.testFilter].sort((a, b) => (times.get(a) ?? Infinity) - (times.get(b) ?? Infinity)) : undefined;
    const job: RunJob = {
      type: 'run',
      ...(tests ? { tests } : {}),
      activeMutant: options.activeMutant.id,
      ...(options.hitLimit !== undefined ? { hitLimit: options.hitLimit } : {}),
      bail: !options.disableBail,
    };
    // Answer just before Stryker's own timeout would restart this whole runner process.
    const budget = Math.max(1000, options.timeout - 200);
    const file = normalize(relative(process.cwd(), options.sandboxFileName));
    const answer = options.reloadEnvironment || options.mutantActivation === 'static' || this.isolate.includes(file) ? await this.runAlone(job, budget) : await this.runShared(job, budget);
    switch (answer.type) {
      case 'timeout':
        return { status: MutantRunStatus.Timeout, reason: `no result within ${budget} ms` };
      case 'result': {
        const hitLimit = determineHitLimitReached(answer.hitCount, options.hitLimit);
        if (hitLimit) return toMutantRunResult(hitLimit);
        return toMutantRunResult({ status: DryRunStatus.Complete, tests: answer.tests.map(toTestResult) });
      }
      case 'loaded':
        // A mutant that breaks loading a test file (a module-level constant, say) fails every test in it.
        return { status: MutantRunStatus.Killed, killedBy: [], failureMessage: answer.loadError ?? 'the test files did not load', nrOfTests: 0 };
      default:
        return { status: MutantRunStatus.Error, errorMessage: describe(answer) };
    }
  }

  /** A worker of its own that loads the files with the mutant already active. */
  private async runAlone(job: RunJob, budget: number): Promise<Answer> {
    const started = Date.now();
    const worker = new Worker();
    try {
      const loaded = await worker.ask({ type: 'load', files: this.files, activeMutant: job.activeMutant! }, budget);
      if (loaded.type !== 'loaded' || loaded.loadError) return loaded;
      return await worker.ask(job, Math.max(1, budget - (Date.now() - started)));
    } finally {
      worker.kill();
    }
  }

  private async runShared(job: RunJob, budget: number, retried = false): Promise<Answer> {
    if (!this.warm) {
      const worker = new Worker();
      const loaded = await worker.ask({ type: 'load', files: this.files });
      if (loaded.type !== 'loaded' || loaded.loadError) {
        worker.kill();
        return { type: 'crashed', error: `the test files did not load without a mutant: ${describe(loaded)}` };
      }
      this.warm = worker;
    }
    const worker = this.warm;
    const answer = await worker.ask(job, budget);
    worker.runs++;
    if (answer.type !== 'result' || worker.runs >= this.maxRuns) {
      worker.kill();
      this.warm = undefined;
    }
    if (answer.type === 'stale' && !retried) {
      this.log.debug(`worker replaced: ${answer.error}`);
      return this.runShared(job, budget, true);
    }
    return answer;
  }

  private dryRunTimes(): Map<string, number> {
    if (!this.times) {
      try {
        this.times = new Map(Object.entries(JSON.parse(readFileSync(TIMES_FILE, 'utf8')) as Record<string, number>));
      } catch {
        this.log.warn(`${TIMES_FILE} is missing: tests run in dry-run order`);
        this.times = new Map();
      }
    }
    return this.times;
  }
}

function describe(a: Answer): string {
  switch (a.type) {
    case 'loaded':
      return a.loadError ?? 'loaded';
    case 'stale':
    case 'crashed':
      return a.error;
    case 'timeout':
      return 'timed out';
    case 'result':
      return 'result';
  }
}

function toTestResult(t: WorkerTestResult): TestResult {
  const base = { id: t.id, name: t.id, fileName: t.file, timeSpentMs: Math.round(t.timeSpentMs) };
  if (t.status === 'failed') return { ...base, status: TestStatus.Failed, failureMessage: t.failureMessage ?? '' };
  if (t.status === 'skipped') return { ...base, status: TestStatus.Skipped };
  return { ...base, status: TestStatus.Success };
}

export const strykerPlugins = [declareClassPlugin(PluginKind.TestRunner, 'node-test', NodeTestRunner)];

export const strykerValidationSchema = {
  $schema: 'http://json-schema.org/draft-07/schema',
  title: 'NodeTestRunnerOptions',
  type: 'object',
  properties: {
    nodeTest: {
      type: 'object',
      properties: {
        testFiles: { type: 'array', items: { type: 'string' }, description: 'Compiled node:test files, relative to the project.' },
        isolate: { type: 'array', items: { type: 'string' }, description: 'Mutated source files with module-level state, or reached only through such state: each of their mutants gets a fresh worker.' },
        maxRunsPerWorker: { type: 'integer', minimum: 1, description: 'Mutant runs before a shared worker is replaced.' },
      },
      required: ['testFiles'],
      additionalProperties: false,
    },
  },
};

// A second node:test reporter for the test command: the TAP stream above it is long, and CI keeps only its head and
// tail, so the tests that failed are repeated here, after everything else, with the file, the suites around the test
// and the first lines of the error. Not repeated: a suite that failed only because a test inside it failed (its test
// is), tests cancelled because their parent failed, and `todo` tests (they never fail a run). A file that failed
// without a test of its own (it threw while loading) gets the last lines it wrote to standard error.

const ERROR_LINES = 12;
const STDERR_LINES = 20;

/**
 * The fields of node:test's events this reporter reads (test:start, test:fail, test:stderr).
 * @typedef {{ name: string, nesting: number, file?: string, todo?: string | boolean, message?: string,
 *   details?: { error?: Error & { failureType?: string } } }} EventData
 */

/** @param {AsyncIterable<{ type: string, data: EventData }>} source */
export default async function* failuresReporter(source) {
  /** @type {string[]} */
  const failures = [];
  /** The names of the suites open at each nesting level, per file. @type {Map<string, string[]>} */
  const open = new Map();
  /** The last lines each file wrote to standard error. @type {Map<string, string[]>} */
  const stderr = new Map();
  for await (const event of source) {
    const data = event.data;
    const file = data.file ?? '?';
    if (event.type === 'test:start') {
      const names = open.get(file) ?? [];
      names.length = data.nesting;
      names.push(data.name);
      open.set(file, names);
      continue;
    }
    if (event.type === 'test:stderr') {
      const lines = [...(stderr.get(file) ?? []), ...String(data.message).split('\n').filter((l) => l !== '')];
      stderr.set(file, lines.slice(-STDERR_LINES));
      continue;
    }
    if (event.type !== 'test:fail' || data.todo !== undefined) continue;
    const error = data.details?.error;
    if (error?.failureType === 'subtestsFailed' || error?.failureType === 'cancelledByParent') continue;
    const cause = error?.cause instanceof Error ? error.cause : error;
    const message = (cause?.message ?? 'failed').split('\n').slice(0, ERROR_LINES);
    const path = [...(open.get(file) ?? []).slice(0, data.nesting), data.name].join(' > ');
    const wrote = data.nesting === 0 && data.name === file ? (stderr.get(file) ?? []) : [];
    failures.push([`- ${file}`, `  ${path}`, ...message.map((l) => `    ${l}`), ...wrote.map((l) => `    | ${l}`)].join('\n'));
  }
  if (failures.length === 0) return;
  yield `\n# ${failures.length} failing test(s), repeated:\n${failures.join('\n')}\n`;
}

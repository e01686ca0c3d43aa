// A second node:test reporter for the test command: the TAP stream above it is long, and CI keeps only its head and
// tail, so the tests that failed are repeated here, after everything else, with the file and the first lines of the
// error. A suite that failed only because a test inside it failed is not repeated; its test is.

/** @param {AsyncIterable<{ type: string, data: unknown }>} source */
export default async function* failuresReporter(source) {
  /** @type {string[]} */
  const failures = [];
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const { name, file, details } = /** @type {import('node:test').EventData.TestFail} */ (event.data);
    const error = /** @type {(Error & { failureType?: string }) | undefined} */ (details.error);
    if (error?.failureType === 'subtestsFailed') continue;
    const cause = error?.cause instanceof Error ? error.cause : error;
    const message = (cause?.message ?? 'failed').split('\n').slice(0, 12).join('\n    ');
    failures.push(`- ${file ?? '?'}\n  ${name}\n    ${message}`);
  }
  if (failures.length === 0) return;
  yield `\n# ${failures.length} failing test(s), repeated:\n${failures.join('\n')}\n`;
}

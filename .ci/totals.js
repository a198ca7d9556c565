// Sums jest's JSON results of each run; a run without results (lint, type-check or install
// failed) counts as one failure; a "name:check:exit" step (one check, not a jest run) counts as
// one test. Prints the totals as the last line: "N passed, N failed".
'use strict';
const fs = require('node:fs');

let passed = 0;
let failed = 0;
// The failures are printed again at the end, beside the totals, because a CI log is often read
// only from its tail: each failed test's name and the first lines of its message.
const failures = [];
const MAX_LISTED = 20;
const messageHead = (message) =>
  message
    // eslint-disable-next-line no-control-regex -- jest's failure messages carry ANSI colour codes
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '' && !/^\s+at /.test(line))
    .slice(0, 6)
    .map((line) => `      ${line.slice(0, 400)}`)
    .join('\n');
for (const arg of process.argv.slice(2)) {
  const [name, file, exitCode] = arg.split(':');
  if (file === 'check') {
    // A step that is one check, not a jest run (e.g. an oracle diff): its exit code is the result.
    if (exitCode === '0') passed += 1;
    else failed += 1;
    console.log(`${name}: ${exitCode === '0' ? 'passed' : `failed (exit ${exitCode})`}`);
  } else if (file && fs.existsSync(file)) {
    const result = JSON.parse(fs.readFileSync(file, 'utf8'));
    // Suites that failed to run (syntax errors, crashes) hold no test results: count each as a failure.
    const brokenSuites = result.testResults.filter((suite) => suite.status === 'failed' && suite.assertionResults.length === 0).length;
    passed += result.numPassedTests;
    failed += result.numFailedTests + brokenSuites;
    for (const suite of result.testResults) {
      const file = suite.name.replace(`${process.cwd()}/`, '');
      const failedTests = suite.assertionResults.filter((test) => test.status === 'failed');
      if (failedTests.length === 0 && suite.status === 'failed') failures.push(`${name} ${file}: suite failed ${suite.assertionResults.length === 0 ? 'to run' : 'outside its tests (a hook, an open handle)'}\n${messageHead(suite.message ?? '')}`);
      for (const test of failedTests) failures.push(`${name} ${file} › ${test.fullName}\n${messageHead((test.failureMessages ?? []).join('\n'))}`);
    }
    console.log(`${name}: ${result.numPassedTests} passed, ${result.numFailedTests} failed, ${brokenSuites} suites broken, exit ${exitCode}`);
    if (result.numFailedTests + brokenSuites === 0 && exitCode !== '0') {
      failed += 1;
      console.log(`${name}: the test command exited ${exitCode} with all tests passing`);
    }
  } else {
    failed += 1;
    console.log(`${name}: no test results (exit ${exitCode}): lint, type-check or set-up failed`);
  }
}
if (failures.length > 0) {
  console.log(`failed (${failures.length}${failures.length > MAX_LISTED ? `, first ${MAX_LISTED}` : ''}):`);
  for (const failure of failures.slice(0, MAX_LISTED)) console.log(`  ${failure}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

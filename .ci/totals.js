// Sums jest's JSON results of each run; a run without results (lint, type-check or install
// failed) counts as one failure; a "name:check:exit" step (one check, not a jest run) counts as
// one test. Prints the totals as the last line: "N passed, N failed".
'use strict';
const fs = require('node:fs');

let passed = 0;
let failed = 0;
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
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

import { liveDisplay, plainDisplay, type Output } from '../../src/cli/display';
import type { CliRunView } from '../../src/cli/runView';

/** The two ways a watched run is shown, in process, with a fixed clock and terminal size. */
function capture(columns = 80, rows = 24): Output & { text(): string } {
  let text = '';
  return { out: (chunk) => (text += chunk), err: (chunk) => (text += chunk), size: () => ({ columns, rows }), text: () => text };
}

const failed: CliRunView = {
  id: '0f35a360-56e4-4e45-8d1f-87c6d898e06c',
  status: 'failed',
  backend: 'powerbi',
  workspace: 'Finance',
  semanticModel: 'Sales',
  createdAt: '2026-12-02T01:37:03.000Z',
  lastUpdatedAt: '2026-12-02T01:37:17.000Z',
  endedAt: '2026-12-02T01:37:15.000Z',
  refreshStatus: 'failed',
  objects: [{ table: 'DimDate', partition: 'DimDate', status: 'failed' }],
  messages: [{ type: 'Error', message: 'The data source returned an error.' }],
  error: { code: 'REFRESH_FAILED', message: 'Power BI refresh ended failed.' },
};

test('a failed run in an Azure DevOps log: the summary, then a ##vso error the run summary shows, on one line', () => {
  const output = capture();
  plainDisplay(output, () => Date.parse('2026-12-02T01:37:18Z'), 'azureDevOps').end({ ...failed, error: { code: 'REFRESH_FAILED', message: 'line one\nline two' } });
  expect(output.text().split('\n')).toEqual([
    '01:37:18 run 0f35a360-56e4-4e45-8d1f-87c6d898e06c failed (Sales in workspace Finance)',
    // By the service's clock: the read that showed it failed came 14 s after the run's start.
    '01:37:18   DimDate: failed (done by +14 s)',
    'Run 0f35a360-56e4-4e45-8d1f-87c6d898e06c failed after 12 s: Sales in workspace Finance.',
    '  REFRESH_FAILED: line one line two',
    '  failed objects: DimDate',
    '  Power BI Error: The data source returned an error.',
    '##vso[task.logissue type=error]Refresh of Sales failed: REFRESH_FAILED: line one line two',
    '',
  ]);
});

test('a live frame never grows past the terminal: the objects that do not fit are counted', () => {
  const output = capture(60, 8);
  const objects = Array.from({ length: 20 }, (_, index) => ({ table: `Table${index}`, status: index < 3 ? 'inProgress' : 'notStarted' }));
  const display = liveDisplay(output, () => 0, false);
  display.update({ ...failed, status: 'refreshing', refreshStatus: 'inProgress', endedAt: undefined, error: undefined, objects, objectCounts: { inProgress: 3, notStarted: 17 } });
  display.pause();
  const ESC = String.fromCharCode(27);
  // Without the cursor's hide and show.
  const lines = output.text().split(`${ESC}[?25l`).join('').split(`${ESC}[?25h`).join('').trimEnd().split('\n');
  // rows - 4 lines of objects at most (one of them the count), plus the run's line.
  expect(lines.length).toBeLessThanOrEqual(8 - 4 + 1);
  expect(lines[0]).toBe('⠋ Run 0f35a360 Sales in workspace Finance: refreshing, Pow…');
  expect(lines.at(-1)).toBe('  … 17 more objects');
  expect(lines.every((line) => line.length <= 59)).toBe(true);
});

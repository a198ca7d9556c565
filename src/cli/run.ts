import fs from 'node:fs';
import path from 'node:path';
import type { CliRunView as RunView } from './runView';
import { appService, type RefreshService } from './appClient';
import { FINAL_RUN_STATUSES, modelLabel } from './runView';
import { parseCommandLine, type Command, type Connection } from './args';
import { formatSeconds, liveDisplay, objectName, plainDisplay, runSeconds, silentDisplay, summaryLines, type Display, type Output } from './display';
import { CliError, ExitCodes, exitCodeOfRun, type ExitCode } from './errors';
import { HELP } from './help';
import { processInterrupts, type Interrupts } from './interrupts';
import { watchRun } from './watch';

export interface Terminal extends Output {
  /** stdout is a terminal and this is not a CI job: redraw in place. */
  live: boolean;
  /** stdin and stderr are a terminal: Ctrl+C can ask a question. */
  interactive: boolean;
  /** The CI system, for its error annotations. */
  ci?: 'github' | 'azureDevOps';
  color: boolean;
}

/**
 * --direct builds its service here (src/cli/direct.ts): a seam so that app mode loads none of the
 * backend code. `target`: the model a status, cancel or history command names.
 */
export type DirectServiceFactory = (env: NodeJS.ProcessEnv, target?: Record<string, string>) => Promise<RefreshService>;

/** Runs one command line; returns the exit code. Every failure is one message, never a stack trace. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv, terminal: Terminal, direct?: DirectServiceFactory): Promise<ExitCode> {
  let command: Command | undefined;
  let service: RefreshService | undefined;
  // The key is sent, never shown: anything the app or a library echoes is masked too.
  let secret: string | undefined;
  const mask = (text: string) => (secret === undefined || secret.length < 4 ? text : text.split(secret).join('***'));
  const output: Terminal = { ...terminal, out: (text) => terminal.out(mask(text)), err: (text) => terminal.err(mask(text)) };
  try {
    command = parseCommandLine(argv, env);
    if (command.name === 'help') {
      output.out(HELP[command.topic ?? ''] ?? HELP[''] ?? '');
      return ExitCodes.succeeded;
    }
    if (command.name === 'version') {
      output.out(`${packageVersion()}\n`);
      return ExitCodes.succeeded;
    }
    // The function key, or with --direct the service principal's secret.
    secret = command.connection.mode === 'app' ? command.connection.key : env.AZURE_CLIENT_SECRET;
    const target = command.name === 'status' || command.name === 'cancel' ? command.target : command.name === 'history' ? command.query : undefined;
    service = await connect(command.connection, env, target, direct);
    return await execute(command, service, output);
  } catch (error) {
    // A command line that did not parse still asked for JSON if it says --json.
    return report(error, command !== undefined && 'json' in command ? command.json : argv.includes('--json'), output);
  } finally {
    await service?.close();
  }
}

async function connect(connection: Connection, env: NodeJS.ProcessEnv, target: Record<string, string> | undefined, direct: DirectServiceFactory | undefined): Promise<RefreshService> {
  if (connection.mode === 'app') return appService(connection.apiBase, connection.key);
  if (direct === undefined) throw new CliError('--direct is not available in this build', ExitCodes.badInput);
  return direct(env, target);
}

type RunCommand = Exclude<Command, { name: 'help' } | { name: 'version' }>;

async function execute(command: RunCommand, service: RefreshService, terminal: Terminal): Promise<ExitCode> {
  const json = (value: unknown) => terminal.out(`${JSON.stringify(value, null, 2)}\n`);
  switch (command.name) {
    case 'refresh': {
      // Listening before the POST: a Ctrl+C while it is out is handled once the run id is known.
      const interrupts = command.watch.wait ? processInterrupts(terminal.interactive, (text) => terminal.err(text)) : undefined;
      let started;
      try {
        started = await service.start(command.body);
      } catch (error) {
        interrupts?.dispose();
        throw error;
      }
      const { id, accepted } = started;
      if (!command.watch.wait) {
        if (command.json) json(accepted);
        else terminal.out(`Run ${id} accepted (${String(accepted.model ?? accepted.semanticModel ?? '')}).\n${reachText(service, id)}`);
        return ExitCodes.succeeded;
      }
      if (!command.json) terminal.out(`Run ${id} accepted; waiting for it to end (Ctrl+C to stop or cancel).\n`);
      return watch(command, service, terminal, id, true, interrupts);
    }
    case 'status': {
      if (command.watch.wait) return watch(command, service, terminal, command.runId, false);
      const { view } = await service.get(command.runId);
      if (command.json) json(view);
      else terminal.out(statusText(view));
      // An ended run exits with its outcome, as --wait would: a pipeline step that checks a run
      // started earlier fails when the run did. One still going exits 0 (the read worked).
      return FINAL_RUN_STATUSES.has(view.status) ? exitCodeOfRun(view.status) : ExitCodes.succeeded;
    }
    case 'cancel': {
      const result = await service.cancel(command.runId);
      if (result.ended) {
        const status = String((result.answer as { error?: { status?: string } }).error?.status ?? 'ended');
        throw new CliError(`Run ${command.runId} has already ended (${status}); there is nothing to cancel.`, ExitCodes.failed, 'RUN_ALREADY_ENDED');
      }
      if (!command.watch.wait) {
        if (command.json) json(result.answer);
        else terminal.out(`Run ${command.runId} is cancelling its refresh.\n${reachText(service, command.runId, false)}`);
        return ExitCodes.succeeded;
      }
      if (!command.json) terminal.out(`Run ${command.runId} is cancelling its refresh; waiting for it to end.\n`);
      return watch(command, service, terminal, command.runId, false);
    }
    case 'list': {
      const page = await service.list(command.query);
      if (command.json) json(page);
      else {
        terminal.out(listText(page.runs));
        if (page.continuationToken !== undefined) terminal.out(`More runs: add --continuation-token ${page.continuationToken}\n`);
      }
      return ExitCodes.succeeded;
    }
    case 'history': {
      const history = await service.history(command.query);
      if (command.json) json(history);
      else terminal.out(historyText(history));
      return ExitCodes.succeeded;
    }
  }
}

async function watch(
  command: Extract<RunCommand, { watch: unknown }>,
  service: RefreshService,
  terminal: Terminal,
  runId: string,
  startedHere: boolean,
  interrupts: Interrupts = processInterrupts(terminal.interactive, (text) => terminal.err(text)),
): Promise<ExitCode> {
  const display: Display = command.json ? silentDisplay : terminal.live ? liveDisplay(terminal, Date.now, terminal.color) : plainDisplay(terminal, Date.now, terminal.ci);
  try {
    const result = await watchRun({ service, runId, display, interrupts, startedHere, ...(command.watch.pollIntervalMs === undefined ? {} : { pollIntervalMs: command.watch.pollIntervalMs }) });
    if (command.json && result.view !== undefined) terminal.out(`${JSON.stringify(result.view, null, 2)}\n`);
    return result.exitCode;
  } finally {
    interrupts.dispose();
    display.pause();
  }
}

/** The commands that watch (and cancel) the run later, as the service reaches it. */
function reachText(service: RefreshService, runId: string, cancel = true): string {
  const reach = service.reach(runId);
  if (reach === undefined) return '';
  return `Watch it: ${reach.command('status')} --wait\n${cancel ? `Cancel it: ${reach.command('cancel')}\n` : ''}`;
}

function report(error: unknown, json: boolean, terminal: Terminal): ExitCode {
  if (error instanceof CliError) {
    if (json) terminal.out(`${JSON.stringify({ error: { code: error.code, message: error.message, ...(error.problems.length === 0 ? {} : { problems: error.problems }) } }, null, 2)}\n`);
    terminal.err(`aas-refresh: ${error.message}\n${error.problems.map((problem) => `  - ${problem}\n`).join('')}`);
    return error.exitCode;
  }
  // Not expected: say so in one line; AAS_REFRESH_DEBUG=1 shows the stack for a bug report.
  const message = error instanceof Error ? error.message : String(error);
  terminal.err(`aas-refresh: unexpected error: ${message}\n${process.env.AAS_REFRESH_DEBUG === '1' && error instanceof Error ? `${error.stack ?? ''}\n` : ''}`);
  return ExitCodes.failed;
}

function statusText(view: RunView): string {
  const lines = summaryLines(view);
  for (const object of view.objects) lines.push(`    ${objectName(object).padEnd(40)} ${object.status}`);
  if (view.objectsTruncated === true) lines.push('    (the first objects only while the run is going)');
  return `${lines.join('\n')}\n`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => (row[index] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function listText(runs: RunView[]): string {
  if (runs.length === 0) return 'No runs.\n';
  return table(
    ['RUN', 'STATUS', 'MODEL', 'CREATED (UTC)', 'DURATION', 'SOURCE'],
    runs.map((run) => [run.id, run.status, modelLabel(run), run.createdAt.slice(0, 19).replace('T', ' '), formatSeconds(runSeconds(run)), run.source ?? '-']),
  );
}

function historyText(history: Record<string, unknown>): string {
  const refreshes = (Array.isArray(history.refreshes) ? history.refreshes : []) as { refreshId?: string; status?: string; startTime?: string; endTime?: string }[];
  if (refreshes.length === 0) return 'No refreshes in the last 30 days.\n';
  return table(
    ['REFRESH', 'STATUS', 'START (UTC)', 'END (UTC)', 'DURATION'],
    refreshes.map((refresh) => {
      const start = refresh.startTime === undefined ? Number.NaN : Date.parse(refresh.startTime);
      const end = refresh.endTime === undefined ? Number.NaN : Date.parse(refresh.endTime);
      const time = (value: string | undefined) => (value === undefined ? '-' : value.slice(0, 19).replace('T', ' '));
      return [refresh.refreshId ?? '-', refresh.status ?? '-', time(refresh.startTime), time(refresh.endTime), Number.isFinite(start) && Number.isFinite(end) ? formatSeconds(Math.round((end - start) / 1000)) : '-'];
    }),
  );
}

function packageVersion(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) return String((JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown }).version ?? 'unknown');
  }
  return 'unknown';
}

/** Exit codes of `aas-refresh`, documented in docs/cli.md. */
export const ExitCodes = {
  succeeded: 0,
  failed: 1,
  timedOut: 2,
  cancelled: 3,
  badInput: 4,
  /** Ctrl+C twice, or an interrupt while watching a run this command did not start: the run goes on. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** The exit code of a run that has ended, by its status. */
export function exitCodeOfRun(status: string): ExitCode {
  switch (status) {
    case 'succeeded':
      return ExitCodes.succeeded;
    case 'timedOut':
      return ExitCodes.timedOut;
    case 'cancelled':
      return ExitCodes.cancelled;
    default:
      return ExitCodes.failed;
  }
}

/**
 * A failure the user is told about in one message (no stack trace): bad input (exit 4), or
 * something the app or the service answered (exit 1). `code` and `problems` are the API's own
 * when it gave them, so that `--json` can pass them on.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly code = exitCode === ExitCodes.badInput ? 'INVALID_INPUT' : 'FAILED',
    readonly problems: string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const badInput = (message: string, problems: string[] = []) => new CliError(message, ExitCodes.badInput, 'INVALID_INPUT', problems);

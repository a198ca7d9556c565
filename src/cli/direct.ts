import type { RefreshService } from './appClient';
import { CliError, ExitCodes } from './errors';
import type { Terminal } from './run';

/** --direct: the refresh run from this machine with the app's own backend clients. */
export async function directService(_env: NodeJS.ProcessEnv, _terminal: Terminal): Promise<RefreshService> {
  throw new CliError('--direct is not available yet: use --url and --key with a deployed app', ExitCodes.badInput);
}

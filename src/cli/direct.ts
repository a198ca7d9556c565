import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { parseRunRequest } from '../api/requestSchema';
import { backends } from '../backends';
import { loadConfig, SETTING_NAMES } from '../config/config';
import { AppError, codeOf, detailOf, kindOf } from '../errors';
import { type RunRequest } from '../orchestration/contracts';
import { nextPollDelayMs, nextSyncPollDelayMs } from '../orchestration/pollingPolicy';
import type { ScopedTokens } from '../refresh/port';
import { createBackendClients } from '../refresh/registry';
import { backendLabel, describeTarget, readTarget, type RefreshTarget } from '../refresh/target';
import { ACTIVE_REFRESH_STATUSES, TERMINAL_REFRESH_STATUSES, type RefreshDetails } from '../refresh/types';
import type { RefreshService } from './appClient';
import { badInput, CliError, ExitCodes } from './errors';
import { formatSeconds } from './display';
import type { CliRunView } from './runView';

const PUBLIC_CLOUD_AUTHORITY_HOST = 'https://login.microsoftonline.com';
/** A CLI polls sooner than the app's production default (30 s): someone is watching. */
const DIRECT_POLLING = { minIntervalMs: 5_000, maxIntervalMs: 60_000 };
const TOKEN_RENEWAL_MS = 5 * 60 * 1000;

/**
 * Tokens for --direct: a service principal from AZURE_TENANT_ID, AZURE_CLIENT_ID and
 * AZURE_CLIENT_SECRET (AZURE_AUTHORITY_HOST for another cloud), otherwise the developer's (or
 * the pipeline's) Azure CLI login. Cached per scope until 5 minutes before expiry, as the app does.
 */
export async function cliTokens(env: NodeJS.ProcessEnv): Promise<{ tokens: ScopedTokens; source: string }> {
  const identity = await import('@azure/identity');
  const { AZURE_TENANT_ID: tenantId, AZURE_CLIENT_ID: clientId, AZURE_CLIENT_SECRET: secret } = env;
  let credential: TokenCredential;
  let source: string;
  if (tenantId && clientId && secret) {
    const authorityHost = (env.AZURE_AUTHORITY_HOST ?? PUBLIC_CLOUD_AUTHORITY_HOST).replace(/\/+$/, '');
    credential = new identity.ClientSecretCredential(tenantId, clientId, secret, {
      authorityHost,
      // Instance discovery asks login.microsoftonline.com about the authority: only for the public cloud.
      ...(authorityHost.toLowerCase() === PUBLIC_CLOUD_AUTHORITY_HOST ? {} : { disableInstanceDiscovery: true }),
    });
    source = `service principal ${clientId}`;
  } else if (tenantId || clientId || secret) {
    throw badInput('a service principal needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET together (or none of them, to use your az login)');
  } else {
    credential = new identity.AzureCliCredential();
    source = 'Azure CLI login';
  }
  const cache = new Map<string, { token: string; expiresAt: number }>();
  return {
    source,
    tokens: {
      async getToken(scope) {
        const cached = cache.get(scope);
        if (cached !== undefined && cached.expiresAt - TOKEN_RENEWAL_MS > Date.now()) return cached.token;
        let answer;
        try {
          answer = await credential.getToken(scope);
        } catch (error) {
          const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
          throw new CliError(`no token for ${scope} from the ${source}: ${reason}${source === 'Azure CLI login' ? ' (run az login, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET)' : ''}`, ExitCodes.badInput, 'NO_TOKEN');
        }
        if (answer === null) throw new CliError(`no token for ${scope} from the ${source}`, ExitCodes.badInput, 'NO_TOKEN');
        cache.set(scope, { token: answer.token, expiresAt: answer.expiresOnTimestamp });
        return answer.token;
      },
      invalidate(scope) {
        cache.delete(scope);
      },
    },
  };
}

interface DirectRun {
  id: string;
  target: RefreshTarget;
  request?: RunRequest;
  createdAt: number;
  deadline?: number;
  phase: 'waiting' | 'refreshing' | 'cancelling' | 'syncing' | 'ended';
  refreshId?: string;
  submittedAt?: number;
  details?: RefreshDetails;
  syncOperationId?: string;
  syncStartedAt?: number;
  syncStatus?: string;
  /** Why the run is cancelling: the deadline passed (ends timedOut) or the user asked. */
  cancelling?: 'deadline' | 'request';
  status?: string;
  error?: { code: string; message: string };
  endedAt?: number;
  lastIssue?: { code: string; message: string };
}

/**
 * --direct: the run happens in this process, with the app's own backend adapters (src/backends
 * through the port in src/refresh), request schema and polling policy, but no durable state: the
 * run lasts as long as the command. `status` and `cancel` then take the service's refresh id and
 * the target (--server/--model or --workspace/--semantic-model).
 */
export async function directService(env: NodeJS.ProcessEnv, knownTarget?: Record<string, string>): Promise<RefreshService> {
  // The allow-lists and timeouts come from the app's own settings (AAS_ALLOWED_HOSTS, …); the
  // identity settings do not apply (this process uses cliTokens).
  const settings = Object.fromEntries(SETTING_NAMES.filter((name) => env[name] !== undefined).map((name) => [name, env[name]]));
  let config;
  try {
    config = loadConfig({ ...settings, AUTH_MODE: 'managedIdentity' });
  } catch (error) {
    throw badInput(detailOf(error));
  }
  const { tokens } = await cliTokens(env);
  const clients = createBackendClients(backends, { config, tokens, requestTimeoutMs: config.aas.requestTimeoutMs });
  const runs = new Map<string, DirectRun>();

  const targetFrom = (fields: Record<string, unknown> | undefined): RefreshTarget => {
    const target = readTarget(fields?.workspace !== undefined ? { backend: 'powerbi', ...fields } : fields);
    if (target === undefined) throw badInput('--direct needs the target: --server and --model, or --workspace and --semantic-model');
    try {
      return backends.forTarget(target).parseTarget(target, config);
    } catch (error) {
      throw badInput(detailOf(error));
    }
  };

  /** The target with what every call needs (a Power BI workspace's and semantic model's ids, looked up by name). */
  const resolvedTarget = async (fields: Record<string, unknown> | undefined): Promise<RefreshTarget> => {
    const target = targetFrom(fields);
    try {
      return await clients.forTarget(target).resolveTarget(target);
    } catch (error) {
      return serviceError(error) as never;
    }
  };

  /** A refresh this process did not start (status, cancel): the service's refresh id and the command's target. */
  const foreignRun = async (refreshId: string): Promise<DirectRun> => {
    const run: DirectRun = { id: refreshId, target: await resolvedTarget(knownTarget), createdAt: Date.now(), phase: 'refreshing', refreshId };
    runs.set(refreshId, run);
    return run;
  };

  const unknownRefresh = (run: DirectRun) => badInput(`${backendLabel(run.target.backend)} knows no refresh ${run.refreshId ?? run.id} of ${describeTarget(run.target)}`);

  /** A service error: one that may pass is thrown for the watch loop to try again; others end the run. */
  const serviceError = (error: unknown, run?: DirectRun): never | void => {
    if (error instanceof CliError) throw error;
    if (error instanceof AppError && error.retryable) throw new CliError(error.detail, ExitCodes.failed, error.code);
    if (run === undefined) throw new CliError(detailOf(error), kindOf(error) === 'notFound' || kindOf(error) === 'rejected' ? ExitCodes.badInput : ExitCodes.failed, codeOf(error));
    end(run, 'failed', { code: codeOf(error), message: detailOf(error) });
  };

  function end(run: DirectRun, status: string, error?: { code: string; message: string }): void {
    run.phase = 'ended';
    run.status = status;
    run.endedAt = Date.now();
    if (error !== undefined) run.error = error;
  }

  function view(run: DirectRun): CliRunView {
    const target = run.target;
    const objects = run.details?.objects ?? [];
    const objectCounts: Record<string, number> = {};
    for (const object of objects) objectCounts[object.status] = (objectCounts[object.status] ?? 0) + 1;
    const status = run.phase === 'ended' ? (run.status ?? 'failed') : run.phase;
    return {
      id: run.id,
      status,
      backend: target.backend,
      ...(target.backend === 'aas' ? { server: target.server, model: target.model } : { workspace: target.workspace, semanticModel: target.semanticModel }),
      source: 'cli --direct',
      createdAt: new Date(run.createdAt).toISOString(),
      lastUpdatedAt: new Date().toISOString(),
      ...(run.endedAt === undefined ? {} : { endedAt: new Date(run.endedAt).toISOString() }),
      ...(run.refreshId === undefined ? {} : { refreshId: run.refreshId }),
      ...(run.details === undefined ? {} : { refreshStatus: run.details.status }),
      // This process's clock throughout (the submit, each read), so that "done by +N s" compares like with like.
      ...(run.submittedAt === undefined ? {} : { refreshStartTime: new Date(run.submittedAt).toISOString() }),
      objects,
      objectCounts,
      messages: run.details?.messages ?? [],
      ...(run.syncOperationId === undefined ? {} : { syncOperationId: run.syncOperationId }),
      ...(run.syncStatus === undefined ? {} : { syncStatus: run.syncStatus }),
      ...(run.lastIssue === undefined ? {} : { lastIssue: run.lastIssue }),
      ...(run.error === undefined ? {} : { error: run.error }),
    };
  }

  /** Submits when the model is free (onConflict "wait" waits for it), within the run's time. */
  async function trySubmit(run: DirectRun): Promise<void> {
    const client = clients.forTarget(run.target);
    const request = run.request as RunRequest;
    const history = await client.listRefreshes(run.target);
    const busy = (why: string): void => {
      const issue = { code: 'MODEL_BUSY', message: `${describeTarget(run.target)} is busy: ${why}` };
      if (request.onConflict === 'fail') return end(run, 'failed', { ...issue, message: `${issue.message}; pass --on-conflict wait to refresh after it` });
      run.lastIssue = issue;
    };
    const active = history.find((refresh) => ACTIVE_REFRESH_STATUSES.has(refresh.status));
    if (active !== undefined) return busy(`refresh ${active.refreshId} is ${active.status}`);
    const known = new Set(history.map((refresh) => refresh.refreshId));
    let submitted;
    try {
      submitted = await client.submitRefresh(run.target, request.refresh);
    } catch (error) {
      // Another refresh began after the history read: the same busy model, not a failure of this run.
      if (kindOf(error) === 'conflict') return busy(`another refresh began just before this one was submitted (${detailOf(error)})`);
      throw error;
    }
    // An answer without the id: the newest refresh the history did not have before is this one.
    const refreshId = submitted.refreshId ?? (await client.listRefreshes(run.target)).find((refresh) => !known.has(refresh.refreshId))?.refreshId;
    if (refreshId === undefined) return end(run, 'failed', { code: 'SUBMIT_LOST', message: `${backendLabel(run.target.backend)} accepted the refresh but named no id, and the history does not show it` });
    run.refreshId = refreshId;
    run.submittedAt = Date.now();
    run.phase = 'refreshing';
    delete run.lastIssue;
  }

  /** One step of the run: what the app's orchestrator does between two timers, here between two reads. */
  async function step(run: DirectRun): Promise<void> {
    const client = clients.forTarget(run.target);
    const now = Date.now();
    if (run.phase === 'waiting') {
      if (run.deadline !== undefined && now >= run.deadline) {
        return end(run, 'timedOut', { code: 'RUN_TIMED_OUT', message: `the model was still busy at the timeout; nothing was submitted${run.lastIssue === undefined ? '' : ` (${run.lastIssue.message})`}` });
      }
      return trySubmit(run);
    }
    if (run.phase === 'refreshing' || run.phase === 'cancelling') {
      if (run.phase === 'refreshing' && run.deadline !== undefined && now >= run.deadline && run.refreshId !== undefined) {
        await client.cancelRefresh(run.target, run.refreshId).catch((error: unknown) => {
          if (kindOf(error) !== 'conflict') throw error;
        });
        run.phase = 'cancelling';
        run.cancelling = 'deadline';
      }
      const details = await client.getRefresh(run.target, run.refreshId as string);
      run.details = details;
      if (!TERMINAL_REFRESH_STATUSES.has(details.status)) return;
      if (details.status === 'cancelled') {
        return run.cancelling === 'deadline'
          ? end(run, 'timedOut', { code: 'RUN_TIMED_OUT', message: `the refresh did not finish within ${formatSeconds(Math.round((run.request?.timeoutMs ?? 0) / 1000))}; it was cancelled` })
          : end(run, 'cancelled', { code: 'RUN_CANCELLED', message: 'the refresh was cancelled' });
      }
      if (details.status !== 'succeeded') {
        const first = details.messages[0]?.message;
        return end(run, details.status === 'timedOut' ? 'timedOut' : 'failed', { code: 'REFRESH_FAILED', message: `the ${backendLabel(run.target.backend)} refresh ${details.status}${first === undefined ? '' : `: ${first}`}` });
      }
      const backend = backends.forTarget(run.target);
      if (run.request?.sync !== true || !backend.supportsSync || client.submitSync === undefined) return end(run, 'succeeded');
      const sync = await client.submitSync(run.target);
      run.syncOperationId = sync.operationId;
      run.syncStartedAt = Date.now();
      run.syncStatus = 'running';
      run.phase = 'syncing';
      return;
    }
    if (run.phase === 'syncing' && client.getSync !== undefined && run.syncOperationId !== undefined) {
      // As the app: the refresh stands, but the run's time is up (src/orchestration/refreshOrchestrator.ts pollSyncPhase).
      if (run.deadline !== undefined && now >= run.deadline) return end(run, 'timedOut', { code: 'RUN_TIMED_OUT', message: 'the refresh succeeded but the replica sync did not finish before the timeout' });
      const sync = await client.getSync(run.target, run.syncOperationId);
      run.syncStatus = sync.status;
      if (sync.status === 'succeeded') return end(run, 'succeeded');
      if (sync.status === 'failed') return end(run, 'failed', { code: 'SYNC_FAILED', message: `the replica sync failed${sync.details ? `: ${sync.details}` : ''}` });
    }
  }

  function nextReadMs(run: DirectRun): number {
    const remainingMs = run.deadline === undefined ? Number.MAX_SAFE_INTEGER : Math.max(0, run.deadline - Date.now());
    if (run.phase === 'syncing') return Math.max(1000, nextSyncPollDelayMs(Date.now() - (run.syncStartedAt ?? Date.now()), DIRECT_POLLING, remainingMs));
    // Not past the deadline: a model still busy then ends the run timedOut at its time.
    if (run.phase === 'waiting') return Math.max(1000, Math.min(DIRECT_POLLING.minIntervalMs * 2, remainingMs));
    return Math.max(1000, nextPollDelayMs({ elapsedMs: Date.now() - (run.submittedAt ?? Date.now()), remainingMs }, DIRECT_POLLING));
  }

  return {
    async start(body) {
      if (body.callbackUrl !== undefined) throw badInput('--callback-url needs the app (the app calls back); leave it out with --direct');
      const parsed = parseRunRequest(body, config, 'cli');
      if (!parsed.ok) throw badInput('The refresh request is not valid.', parsed.problems);
      let target = targetFrom(parsed.request as unknown as Record<string, unknown>);
      try {
        target = await clients.forTarget(target).resolveTarget(target);
      } catch (error) {
        serviceError(error);
      }
      const run: DirectRun = { id: randomUUID(), target, request: parsed.request, createdAt: Date.now(), deadline: Date.now() + parsed.request.timeoutMs, phase: 'waiting' };
      try {
        await trySubmit(run);
      } catch (error) {
        serviceError(error, run);
      }
      if (run.phase === 'ended' && run.error?.code === 'MODEL_BUSY') throw new CliError(run.error.message, ExitCodes.failed, 'MODEL_BUSY');
      runs.set(run.id, run);
      const shown = view(run);
      return { id: run.id, accepted: { id: run.id, status: shown.status, ...(run.refreshId === undefined ? {} : { refreshId: run.refreshId }), ...(target.backend === 'aas' ? { server: target.server, model: target.model } : { workspace: target.workspace, semanticModel: target.semanticModel }) } };
    },
    async get(runId) {
      // A refresh this process did not start: the service's refresh id, shown as it is.
      const run = runs.get(runId) ?? (await foreignRun(runId));
      if (run.phase !== 'ended') {
        try {
          // Not clearing lastIssue here: it says why a waiting run waits (trySubmit sets it and clears it on submitting).
          await step(run);
        } catch (error) {
          if (run.details === undefined && kindOf(error) === 'notFound') {
            runs.delete(runId);
            throw unknownRefresh(run);
          }
          serviceError(error, run);
        }
      }
      return { view: view(run), retryAfterMs: nextReadMs(run) };
    },
    async cancel(runId) {
      const run = runs.get(runId) ?? (await foreignRun(runId));
      if (run.phase === 'ended') return { ended: true, answer: { error: { status: run.status } } };
      if (run.phase === 'waiting') {
        end(run, 'cancelled', { code: 'RUN_CANCELLED', message: 'cancelled before the refresh was submitted' });
        return { ended: false, answer: { id: runId, status: 'cancelled' }, note: `Run ${runId} cancelled while waiting for the model: no refresh had been submitted, so nothing was sent to ${backendLabel(run.target.backend)}.` };
      }
      if (run.phase === 'syncing') {
        // As the app's pollSyncPhase: neither service can cancel a replica sync, so nothing is sent;
        // the run ends cancelled and the refresh stands.
        const label = backendLabel(run.target.backend);
        const why = `the ${label} refresh ${run.refreshId ?? ''} had succeeded and ${label} replica syncs cannot be cancelled; the sync goes on at the service`;
        end(run, 'cancelled', { code: 'RUN_CANCELLED', message: `cancelled during the replica sync; ${why}` });
        return { ended: false, answer: { id: runId, status: 'cancelled' }, note: `Run ${runId} cancelled during the replica sync: ${why}.` };
      }
      const client = clients.forTarget(run.target);
      try {
        // AAS and Power BI answer a DELETE of a refresh that has ended as if it had worked: read it first.
        const details = await client.getRefresh(run.target, run.refreshId as string);
        if (TERMINAL_REFRESH_STATUSES.has(details.status)) {
          if (run.details === undefined) runs.delete(runId);
          return { ended: true, answer: { error: { status: details.status } } };
        }
        await client.cancelRefresh(run.target, run.refreshId as string);
      } catch (error) {
        if (kindOf(error) === 'conflict') return { ended: true, answer: { error: { status: 'ended' } } };
        if (kindOf(error) === 'notFound') {
          if (run.details === undefined) runs.delete(runId);
          throw unknownRefresh(run);
        }
        serviceError(error);
      }
      run.phase = 'cancelling';
      run.cancelling ??= 'request';
      return { ended: false, answer: { id: runId, status: 'cancelling' } };
    },
    async list() {
      throw badInput('list shows the app\'s runs; with --direct there is no app: use history <model> --server … (or --workspace …)');
    },
    async history(query) {
      const target = await resolvedTarget(query);
      try {
        const refreshes = (await clients.forTarget(target).listRefreshes(target)).sort((a, b) => (b.startTime ?? '').localeCompare(a.startTime ?? ''));
        return { ...query, refreshes };
      } catch (error) {
        return serviceError(error) as never;
      }
    },
    reach(runId) {
      const run = runs.get(runId);
      if (run?.refreshId === undefined) return undefined;
      const { refreshId, target } = run;
      const where = target.backend === 'aas' ? `--server ${shellWord(target.server)} --model ${shellWord(target.model)}` : `--workspace ${shellWord(target.workspace)} --semantic-model ${shellWord(target.semanticModel)}`;
      return { what: `${backendLabel(target.backend)} refresh ${refreshId}`, command: (verb) => `aas-refresh ${verb} ${refreshId} --direct ${where}` };
    },
    close: () => clients.close(),
  };
}

/** A name as a POSIX shell reads it back: as is when it is plain, else in single quotes. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_.,:/@%+=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

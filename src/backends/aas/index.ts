import { AppError, ErrorCodes } from '../../errors';
import type { BackendClient, RefreshBackend } from '../../refresh/port';
import type { AasTarget } from '../../refresh/target';
import type { RefreshRequest } from '../../refresh/types';
import { createAasClient } from './client';
import { aasTokenScope, parseServerName, resolveServer } from './serverName';
import { syncStatusOf } from './types';

/**
 * The AAS adapter of the backend port. AAS's own shapes stay in ./client.ts and ./parse.ts; here
 * they meet the neutral ones: AAS's status words are the neutral words, syncstate becomes a sync
 * status, 409 is kind `conflict`, the root activity id is the service request id.
 */
export const aasBackend: RefreshBackend<AasTarget> = {
  backend: 'aas',
  label: 'AAS',
  supportsSync: true,

  parseTarget(target, config) {
    // Grammar and allow-list; the one gate before any token (the client passes it again).
    resolveServer(target.server, config.aas.allowedHosts);
    return { backend: 'aas', server: target.server, model: target.model };
  },

  /** The server compared without `:rw` (the read-write connection of the same server) and case-insensitively; the model exactly. */
  modelKey(target) {
    return `aas|${normaliseServer(target.server)}|${target.model}`;
  },

  refreshProblems(refresh: RefreshRequest) {
    const problems: string[] = [];
    if (refresh.applyRefreshPolicy !== undefined) problems.push('applyRefreshPolicy is a Power BI option; AAS models have no incremental refresh policy to apply (leave it out)');
    if (refresh.effectiveDate !== undefined) problems.push('effectiveDate is a Power BI option; AAS models have no incremental refresh policy (leave it out)');
    return problems;
  },

  tokenScope(target) {
    return aasTokenScope(parseServerName(target.server));
  },

  createClient(deps): BackendClient<AasTarget> {
    const aas = createAasClient({ allowedHosts: deps.config.aas.allowedHosts, tokenProvider: deps.tokens, requestTimeoutMs: deps.requestTimeoutMs, dispatcher: deps.dispatcher });
    const model = (target: AasTarget) => ({ server: target.server, model: target.model });
    return {
      resolveTarget: async (target) => target,
      async submitRefresh(target, refresh) {
        const answer = await aas.submitRefresh(model(target), refresh);
        return { refreshId: answer.refreshId, serviceRequestId: answer.rootActivityId };
      },
      getRefresh: (target, refreshId) => aas.getRefresh(model(target), refreshId),
      listRefreshes: (target) => aas.listRefreshes(model(target)),
      cancelRefresh: (target, refreshId) => aas.cancelRefresh(model(target), refreshId),
      async submitSync(target) {
        const answer = await aas.submitSync(model(target));
        if (answer.operationId === undefined) throw new AppError(ErrorCodes.AAS_BAD_RESPONSE, 'AAS accepted the sync without an operation id in the Location header.');
        return { operationId: answer.operationId, serviceRequestId: answer.rootActivityId };
      },
      async getSync(target, operationId) {
        const sync = await aas.getSync(model(target), operationId);
        return { operationId: sync.operationId, status: syncStatusOf(sync.syncState), serviceState: sync.syncState, ...(sync.details === undefined ? {} : { details: sync.details }) };
      },
      close: () => aas.close(),
    };
  },
};

function normaliseServer(server: string): string {
  return server.trim().toLowerCase().replace(/:rw$/, '').replace(/\/+$/, '');
}

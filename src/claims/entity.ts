import type { EntityContext } from 'durable-functions';
import { claim, ClaimOperations, emptyClaimState, free, release, type ClaimInput, type FreeInput, type ModelClaimState, type ReleaseInput } from './modelClaim';

/**
 * The `modelclaim` entity: applies one operation to the model's claim and answers it. The engine
 * runs one operation at a time per entity id and stores the state with the batch, so two
 * instances of the app asking for one model are answered one after the other.
 */
export function modelClaimEntity(context: EntityContext<ModelClaimState>): void {
  const operation = context.df.operationName;
  const current = context.df.getState(() => emptyClaimState('')) ?? emptyClaimState('');
  switch (operation) {
    case ClaimOperations.claim: {
      const input = requireInput<ClaimInput>(context, ['runId', 'model', 'leaseUntil', 'mode', 'now']);
      const done = claim(current.model === '' ? { ...current, model: input.model } : current, input);
      context.df.setState(done.state);
      context.df.return(done.answer);
      return;
    }
    case ClaimOperations.release: {
      const done = release(current, requireInput<ReleaseInput>(context, ['runId', 'now']));
      context.df.setState(done.state);
      context.df.return(done.answer);
      return;
    }
    case ClaimOperations.free: {
      const done = free(current, requireInput<FreeInput>(context, ['holder', 'now', 'reason']));
      context.df.setState(done.state);
      context.df.return(done.answer);
      return;
    }
    default:
      // The caller's task fails with this message; the state is unchanged.
      throw new Error(`The modelclaim entity has no operation "${String(operation).slice(0, 64)}".`);
  }
}

function requireInput<T>(context: EntityContext<ModelClaimState>, fields: (keyof T & string)[]): T {
  const input = context.df.getInput<Record<string, unknown>>();
  const missing = fields.filter((field) => typeof input?.[field] !== 'string' || input[field] === '');
  if (input === undefined || missing.length > 0) {
    throw new Error(`The modelclaim operation "${context.df.operationName ?? ''}" needs ${missing.join(', ')}.`);
  }
  return input as T;
}

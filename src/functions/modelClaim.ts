import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { notifyClaimant } from '../claims/client';
import { modelClaimEntity } from '../claims/entity';
import { MODEL_CLAIM_ENTITY } from '../claims/modelClaim';
import { ClaimFunctionNames, type NotifyClaimantInput } from '../claims/orchestration';

// One entity per model: the engine serialises every decision about the model (docs/scale-out.md).
df.app.entity(MODEL_CLAIM_ENTITY, modelClaimEntity);

// Tells a run the entity made holder; it raises the event through the Durable client.
df.app.activity(ClaimFunctionNames.notifyClaimant, {
  extraInputs: [df.input.durableClient()],
  handler: async (input: unknown, context: InvocationContext) => notifyClaimant(df.getClient(context), input as NotifyClaimantInput),
});

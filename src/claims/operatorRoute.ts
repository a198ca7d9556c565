import type { HttpResponseInit } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { freeModel } from './client';
import { claimKey } from './modelClaim';
import { ErrorCodes } from '../errors';

/** The model a free request names, as the API's target rules read it. */
export type ResolvedModel = { ok: true; modelKey: string; label: string } | { ok: false; problems: string[] };

/**
 * POST /api/models/claim/free (function key): frees a model whose claim is stuck (a run that
 * cannot release it, before its deadline would). It does not cancel the holder: DELETE the run
 * first when it is still refreshing. The next waiting run is told and starts.
 */
export async function freeModelAnswer(client: DurableClient, model: ResolvedModel, now: Date): Promise<HttpResponseInit> {
  if (!model.ok) return { status: 400, jsonBody: { error: { code: ErrorCodes.INVALID_REQUEST, message: 'The request is not valid.', problems: model.problems } } };
  const outcome = await freeModel(client, claimKey(model.modelKey), now);
  if (outcome.freedFrom === undefined) return { status: 200, jsonBody: { model: model.label, freed: false, message: 'No run holds this model.' } };
  return { status: 202, jsonBody: { model: model.label, freed: true, freedFrom: outcome.freedFrom, ...(outcome.next === undefined ? {} : { next: outcome.next }) } };
}

import * as df from 'durable-functions';
import { getServices } from '../app';

// Operator: frees a model's claim stuck with a run that cannot release it (function key).
df.app.client.http('apiFreeModelClaim', {
  route: 'models/claim/free',
  methods: ['POST'],
  authLevel: 'function',
  handler: async (request, client, context) => (await getServices()).api.freeModel(request, client, context),
});

import * as df from 'durable-functions';
import { getServices } from '../app';

df.app.client.http('apiModelHistory', {
  route: 'models/refreshes',
  methods: ['GET'],
  authLevel: 'function',
  handler: async (request, client, context) => (await getServices()).api.modelHistory(request, client, context),
});

import * as df from 'durable-functions';
import { getServices } from '../app';

df.app.client.http('apiListRefreshes', {
  route: 'refreshes',
  methods: ['GET'],
  authLevel: 'function',
  handler: async (request, client, context) => (await getServices()).api.list(request, client, context),
});

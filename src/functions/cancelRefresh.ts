import * as df from 'durable-functions';
import { getServices } from '../app';

df.app.client.http('apiCancelRefresh', {
  route: 'refreshes/{id}',
  methods: ['DELETE'],
  authLevel: 'function',
  handler: async (request, client, context) => (await getServices()).api.cancel(request, client, context),
});

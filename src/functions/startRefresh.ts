import * as df from 'durable-functions';
import { getServices } from '../app';

df.app.client.http('apiStartRefresh', {
  route: 'refreshes',
  methods: ['POST'],
  authLevel: 'function',
  handler: async (request, client, context) => (await getServices()).api.start(request, client, context),
});

import * as df from 'durable-functions';
import { getServices } from '../app';

df.app.client.http('apiGetRefresh', {
  route: 'refreshes/{id}',
  methods: ['GET'],
  authLevel: 'function',
  handler: async (request, client) => (await getServices()).api.get(request, client),
});

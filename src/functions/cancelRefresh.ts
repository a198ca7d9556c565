import * as df from 'durable-functions';
import { getServices } from '../app';

const { api } = getServices();

df.app.client.http('apiCancelRefresh', { route: 'refreshes/{id}', methods: ['DELETE'], authLevel: 'function', handler: api.cancel });

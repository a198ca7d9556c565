import * as df from 'durable-functions';
import { getServices } from '../app';

const { api } = getServices();

df.app.client.http('apiGetRefresh', { route: 'refreshes/{id}', methods: ['GET'], authLevel: 'function', handler: api.get });

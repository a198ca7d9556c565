import * as df from 'durable-functions';
import { getServices } from '../app';

const { api } = getServices();

df.app.client.http('apiStartRefresh', { route: 'refreshes', methods: ['POST'], authLevel: 'function', handler: api.start });

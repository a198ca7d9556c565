import { app } from '@azure/functions';
import { openApiDocument } from '../api/openapi';

// The API description reveals nothing a caller does not already know, and starts no work.
app.http('apiOpenApi', { route: 'openapi.json', methods: ['GET'], authLevel: 'anonymous', handler: async () => ({ status: 200, jsonBody: openApiDocument }) });

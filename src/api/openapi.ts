import { COMMIT_MODES, REFRESH_STATUSES, REFRESH_TYPES, SYNC_STATUSES } from '../refresh/types';
import { BACKENDS } from '../refresh/target';
import { AUTH_MODES, HOSTING_PLANS } from '../config/config';
import { ERROR_KINDS, ErrorCodes } from '../errors';
import { FINAL_HTTP_STATUS, RETRY_AFTER_SECONDS } from './handlers';
import { DEFAULT_LIST_LIMIT, MAX_BODY_BYTES, MAX_LIST_LIMIT, RUN_STATUS_FILTERS } from './requestSchema';

const RUN_STATUSES = [...RUN_STATUS_FILTERS];
const modelNameSchema = { type: 'string', minLength: 1, maxLength: 256 };
const powerBiName = (what: string) => ({ type: 'string', minLength: 1, maxLength: 256, description: `The ${what}'s id (a GUID) or its name, resolved once when the run is accepted.` });
/** The target fields every route shares: an AAS model or a Power BI / Fabric semantic model. */
const targetQuery = (required: boolean) => [
  { name: 'server', in: 'query', description: `AAS: asazure://<host>/<server>, the host on AAS_ALLOWED_HOSTS (as in the request body)${required ? '; with model, or give workspace and semanticModel' : ''}.`, schema: { type: 'string' } },
  { name: 'model', in: 'query', description: 'AAS: as in the request body: no control characters, not "." or "..".', schema: modelNameSchema },
  { name: 'workspace', in: 'query', description: `Power BI / Fabric: the workspace id or name${required ? '; with semanticModel' : ''} (not together with server/model).`, schema: modelNameSchema },
  { name: 'semanticModel', in: 'query', description: 'Power BI / Fabric: the semantic model id or name.', schema: modelNameSchema },
];
const targetView = {
  backend: { type: 'string', enum: BACKENDS },
  server: { type: 'string', description: 'AAS runs.' },
  model: { type: 'string', description: 'AAS runs.' },
  workspace: { type: 'string', description: 'Power BI runs: as the request gave it.' },
  semanticModel: { type: 'string', description: 'Power BI runs: as the request gave it.' },
  workspaceId: { type: 'string', description: 'Power BI runs: the workspace id the run resolved.' },
  semanticModelId: { type: 'string', description: 'Power BI runs: the semantic model id the run resolved.' },
};
/** A view names one target: AAS server + model, or Power BI workspace + semanticModel. */
const oneTarget = [{ required: ['server', 'model'] }, { required: ['workspace', 'semanticModel'] }];
const objectRef = { type: 'object', required: ['table'], properties: { table: { type: 'string' }, partition: { type: 'string' } }, additionalProperties: false };
const objectStatus = { type: 'object', required: ['table', 'status'], properties: { table: { type: 'string' }, partition: { type: 'string' }, status: { type: 'string' } } };
const runError = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', enum: Object.values(ErrorCodes) },
    message: { type: 'string' },
    kind: { type: 'string', enum: ERROR_KINDS, description: "The neutral meaning of a backend's code (AAS_* or POWERBI_*), the same for both services; absent for the app's own codes." },
  },
};
const json = (schema: unknown) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({ description, content: json(ref('Error')) });
const unauthorized = { description: 'Missing or wrong function key (x-functions-key header or ?code=); empty body.' };
const runningHeaders = {
  Location: { description: 'Absolute URL of the run status.', schema: { type: 'string', format: 'uri' } },
  'Retry-After': {
    description: `Seconds to wait before polling again: until just after the run's next poll of its service (at most POLL_MAX_INTERVAL_SECONDS), ${RETRY_AFTER_SECONDS} when no poll is scheduled and on POST and DELETE.`,
    schema: { type: 'integer', minimum: 1 },
  },
};

/** OpenAPI 3.1 description of the HTTP API, served at /api/openapi.json and checked against real answers in tests. */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'AAS and Power BI refresh service',
    version: '0.1.0',
    description:
      'Refreshes Azure Analysis Services tabular models and Power BI / Fabric semantic models through a durable orchestration: submit, poll, cancel, time out, sync replicas, call back. ' +
      'A request names an AAS model (server + model) or a semantic model (workspace + semanticModel); everything else means the same for both. ' +
      `GET /refreshes/{id} answers 202 while running, ${FINAL_HTTP_STATUS.succeeded} on success, ${FINAL_HTTP_STATUS.failed} when failed or cancelled and ${FINAL_HTTP_STATUS.timedOut} when timed out, so that an Azure Data Factory Web activity following the 202 succeeds or fails with the refresh.`,
  },
  servers: [{ url: '/api' }],
  security: [{ functionKeyHeader: [] }, { functionKeyQuery: [] }],
  paths: {
    '/refreshes': {
      post: {
        operationId: 'startRefresh',
        summary: 'Start a refresh run',
        requestBody: { required: true, content: json(ref('RefreshRequest')) },
        responses: {
          '202': { description: 'Accepted; follow Location.', headers: runningHeaders, content: json(ref('Accepted')) },
          '400': errorResponse('The request is not valid; error.problems lists every problem.'),
          '401': unauthorized,
          '409': errorResponse('Another run of this app is refreshing the model (onConflict "fail"); error.activeRunId names it.'),
          '413': errorResponse(`The body is larger than ${MAX_BODY_BYTES} bytes.`),
          '415': errorResponse('The Content-Type is not application/json.'),
          '502': errorResponse('A Power BI workspace or semantic model named by name could not be resolved because Power BI could not be reached or answered with an error (error.code says which); nothing was started.'),
        },
      },
      get: {
        operationId: 'listRefreshes',
        summary: "This app's runs, one page at a time, newest first: with a model named in full (server + model, or workspace + semanticModel), that model's runs across pages; without one, the newest runs of every model (a recent-runs index of the newest 300), then the older runs model by model (newest first within a model)",
        parameters: [
          ...targetQuery(false),
          { name: 'status', in: 'query', schema: { type: 'string', enum: RUN_STATUSES } },
          { name: 'limit', in: 'query', description: 'At most this many runs (a page may hold fewer and still have a continuationToken). Decimal digits only (not 1e2, 0x10 or " 5").', schema: { type: 'integer', minimum: 1, maximum: MAX_LIST_LIMIT, default: DEFAULT_LIST_LIMIT } },
          { name: 'createdFrom', in: 'query', description: 'Runs started (createdAt) at or after this time (ISO 8601).', schema: { type: 'string' } },
          { name: 'createdTo', in: 'query', description: 'Runs started (createdAt) at or before this time (ISO 8601).', schema: { type: 'string' } },
          { name: 'continuationToken', in: 'query', description: 'The previous page\'s continuationToken.', schema: { type: 'string' } },
        ],
        responses: {
          '200': { description: 'Runs.', content: json({ type: 'object', required: ['runs', 'order'], properties: { runs: { type: 'array', items: ref('Run') }, order: { type: 'string', enum: ['newestFirst', 'byModel'], description: "Where this page stands in the order: newestFirst when the query named one model in full (that model's runs newest first across pages) or, without a model, while the pages list the recent-runs index (the newest runs of every model, newest first across pages); byModel once a page holds runs past the index (the older runs, model by model, newest first within each model; each run once, after the index's)." }, continuationToken: { type: 'string', description: 'Present when there may be more: pass it back for the next page (a page may hold fewer than limit runs, or none, and still have one).' } } }) },
          '400': errorResponse('The query is not valid.'),
          '401': unauthorized,
        },
      },
    },
    '/refreshes/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: {
        operationId: 'getRefresh',
        summary: 'A run and its refresh',
        responses: {
          '200': { description: 'Succeeded.', content: json(ref('Run')) },
          '202': { description: 'Still running.', headers: runningHeaders, content: json(ref('Run')) },
          '401': unauthorized,
          '404': errorResponse('No such run.'),
          '500': { description: 'Failed or cancelled (status and error tell which).', content: json(ref('Run')) },
          '504': { description: 'Timed out; the refresh was cancelled in its service.', content: json(ref('Run')) },
        },
      },
      delete: {
        operationId: 'cancelRefresh',
        summary: 'Cancel a run and its refresh',
        responses: {
          '202': { description: 'Cancellation requested; follow Location.', headers: runningHeaders, content: json({ type: 'object', required: ['id', 'status', 'statusUrl'], properties: { id: { type: 'string' }, status: { const: 'cancelling' }, statusUrl: { type: 'string' } } }) },
          '401': unauthorized,
          '404': errorResponse('No such run.'),
          '409': errorResponse('The run has already ended.'),
        },
      },
    },
    '/models/claim/free': {
      post: {
        operationId: 'freeModelClaim',
        summary: "Free a model's claim from the run holding it (operator; the next waiting run starts). It does not cancel that run.",
        parameters: targetQuery(true),
        responses: {
          '200': { description: 'No run holds the model.', content: json({ type: 'object', required: ['model', 'freed'], properties: { model: { type: 'string' }, freed: { const: false }, message: { type: 'string' } } }) },
          '202': { description: 'Freed; the first waiting run is told.', content: json({ type: 'object', required: ['model', 'freed', 'freedFrom'], properties: { model: { type: 'string' }, freed: { const: true }, freedFrom: { type: 'string' }, next: { type: 'string' } } }) },
          '400': errorResponse('The query is not valid, or names a Power BI workspace or semantic model that does not exist.'),
          '401': unauthorized,
          '502': errorResponse('A Power BI workspace or semantic model named by name could not be resolved because Power BI could not be reached; nothing was freed.'),
        },
      },
    },
    '/models/refreshes': {
      get: {
        operationId: 'modelHistory',
        summary: "The model's own refresh history in its service (AAS: the last 30 days; Power BI: the last 60 refreshes)",
        parameters: targetQuery(true),
        responses: {
          '200': {
            description: 'History.',
            content: json({
              type: 'object',
              required: ['backend', 'refreshes'],
              anyOf: oneTarget,
              properties: {
                ...targetView,
                refreshes: {
                  type: 'array',
                  items: { type: 'object', required: ['refreshId', 'status'], properties: { refreshId: { type: 'string' }, status: { type: 'string', enum: REFRESH_STATUSES }, startTime: { type: 'string' }, endTime: { type: 'string' } } },
                },
              },
            }),
          },
          '400': errorResponse('The query is not valid.'),
          '401': unauthorized,
          '404': errorResponse('The service does not know the model: AAS_NOT_FOUND, AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN (the server does not exist or the app is not its administrator: AAS does not say which), POWERBI_NOT_FOUND.'),
          '502': errorResponse('The service refused or could not be reached; error.code says why.'),
        },
      },
    },
    '/health': {
      get: {
        operationId: 'health',
        summary: 'How the app is set up: each schedule with its next occurrence or its problem, the auth mode, the allow-lists',
        responses: {
          '200': { description: 'Status "degraded" when a schedule is disabled; the API and the other schedules keep working.', headers: { 'Cache-Control': { schema: { type: 'string' } } }, content: json(ref('Health')) },
          '401': unauthorized,
        },
      },
    },
    '/status/{*asset}': {
      get: {
        operationId: 'statusPage',
        summary: 'The status page (docs/status-page.md): its shell, script, style and icon (anonymous: they hold no data; the page sends the function key on each API call)',
        security: [],
        parameters: [{ name: '*asset', in: 'path', required: true, description: 'Empty for the page, or app.js, app.css, icon.svg.', schema: { type: 'string' } }],
        responses: {
          '200': { description: 'The asset, with a strict Content-Security-Policy.', content: { 'text/html': { schema: { type: 'string' } }, 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } }, 'image/svg+xml': { schema: { type: 'string' } } } },
          '404': { description: 'No such asset.', content: { 'text/plain': { schema: { type: 'string' } } } },
          '503': { description: 'The page is not built into this package (npm run build builds it).', content: { 'text/plain': { schema: { type: 'string' } } } },
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openApiDocument',
        summary: 'This document (anonymous: it reveals nothing a caller does not already know)',
        security: [],
        responses: { '200': { description: 'The OpenAPI document.', content: json({ type: 'object', required: ['openapi', 'info', 'paths'] }) } },
      },
    },
  },
  components: {
    securitySchemes: {
      functionKeyHeader: { type: 'apiKey', in: 'header', name: 'x-functions-key' },
      functionKeyQuery: { type: 'apiKey', in: 'query', name: 'code' },
    },
    schemas: {
      RefreshRequest: {
        type: 'object',
        description:
          'Field names are matched case-insensitively (camelCase or the documented PascalCase); unknown fields are refused. ' +
          'Name an AAS model with server and model, or a Power BI / Fabric semantic model with workspace and semanticModel (not both).',
        oneOf: [
          { title: 'AAS model', required: ['server', 'model'] },
          { title: 'Power BI / Fabric semantic model', required: ['workspace', 'semanticModel'] },
        ],
        properties: {
          server: { type: 'string', description: 'AAS: asazure://<region>.asazure.windows.net/<server>, the host on AAS_ALLOWED_HOSTS.', examples: ['asazure://westeurope.asazure.windows.net/myserver'] },
          model: { type: 'string', description: 'AAS: the model (database) name.' },
          workspace: powerBiName('workspace'),
          semanticModel: powerBiName('semantic model'),
          type: { type: 'string', enum: REFRESH_TYPES, default: 'automatic' },
          commitMode: { type: 'string', enum: COMMIT_MODES, default: 'transactional' },
          maxParallelism: { type: 'integer', minimum: 1, maximum: 256, default: 10 },
          retryCount: { type: 'integer', minimum: 0, maximum: 100, default: 0 },
          objects: { type: 'array', items: objectRef, maxItems: 1000 },
          applyRefreshPolicy: { type: 'boolean', description: 'Power BI only (refused for AAS): apply the incremental refresh policy (the service defaults to true); must not be true with commitMode partialBatch.' },
          effectiveDate: { type: 'string', format: 'date', description: 'Power BI only (refused for AAS): the date the refresh policy takes as today, yyyy-mm-dd.' },
          sync: { type: 'boolean', description: 'Synchronize query replicas after a successful refresh (AAS replicas; Power BI query scale-out) (default REFRESH_DEFAULT_SYNC).' },
          timeout: { type: 'string', description: 'ISO 8601 duration, PT1M to P7D (default REFRESH_DEFAULT_TIMEOUT).', examples: ['PT2H'] },
          onConflict: { type: 'string', enum: ['fail', 'wait'], default: 'fail' },
          callbackUrl: { type: 'string', format: 'uri', description: 'POSTed the ADF Webhook body when the run ends; also accepted as callBackUri.' },
          callBackUri: { type: 'string', format: 'uri' },
        },
      },
      Accepted: {
        type: 'object',
        required: ['id', 'status', 'statusUrl', 'cancelUrl', 'backend'],
        anyOf: oneTarget,
        properties: { id: { type: 'string' }, status: { const: 'pending' }, statusUrl: { type: 'string' }, cancelUrl: { type: 'string' }, ...targetView },
      },
      Run: {
        type: 'object',
        required: ['id', 'status', 'backend', 'source', 'request', 'createdAt', 'lastUpdatedAt', 'objects', 'objectCounts', 'messages', 'statusCalls'],
        anyOf: oneTarget,
        properties: {
          id: { type: 'string' },
          status: { type: 'string', enum: RUN_STATUSES },
          ...targetView,
          source: { type: 'string' },
          request: { type: 'object' },
          createdAt: { type: 'string' },
          lastUpdatedAt: { type: 'string' },
          startedAt: { type: 'string' },
          endedAt: { type: 'string' },
          deadline: { type: 'string' },
          refreshId: { type: 'string' },
          adopted: { type: 'boolean' },
          refreshStatus: { type: 'string', enum: REFRESH_STATUSES, description: "The refresh's status in its service, in the same words for AAS and Power BI." },
          aasStatus: { type: 'string', enum: REFRESH_STATUSES, deprecated: true, description: 'AAS runs only: the same as refreshStatus (kept for callers written before Power BI support).' },
          refreshStartTime: { type: 'string' },
          refreshEndTime: { type: 'string' },
          objects: { type: 'array', items: objectStatus, description: 'Every object when the run has ended; while it runs, at most the first 50 (see objectsTruncated).' },
          objectCounts: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Objects per status.' },
          objectsTruncated: { type: 'boolean', description: 'True while running when objects lists only the first 50.' },
          messages: { type: 'array', items: { type: 'object', required: ['message'], properties: { code: { type: 'string' }, message: { type: 'string' }, type: { type: 'string' } } } },
          committedObjects: { type: 'array', items: objectStatus },
          syncOperationId: { type: 'string' },
          syncStatus: { type: 'string', enum: SYNC_STATUSES, description: 'The replica sync (AAS replicas, Power BI query scale-out).' },
          syncState: { type: 'integer', enum: [0, 1, 2, 3, 4], deprecated: true, description: "AAS runs only: AAS's syncstate (0 replicating, 1 rehydrating, 2 completed, 3 failed, 4 finalizing)." },
          syncDetails: { type: ['string', 'null'] },
          statusCalls: { type: 'integer', minimum: 0 },
          expectedDurationSeconds: { type: 'integer' },
          nextPollAt: { type: 'string' },
          lastIssue: runError,
          note: { type: 'string', description: 'How the run ended, when worth knowing: e.g. a cancel that reached the service after the refresh had succeeded.' },
          error: runError,
          callback: { type: 'object', required: ['delivered'], properties: { delivered: { type: 'boolean' }, httpStatus: { type: 'integer' }, error: { type: 'string' } } },
        },
      },
      Health: {
        type: 'object',
        required: ['status', 'problems', 'runningInAzure', 'hostingPlan', 'authMode', 'allowLists', 'schedules'],
        additionalProperties: false,
        properties: {
          status: { type: 'string', enum: ['ok', 'degraded'] },
          problems: { type: 'array', items: { type: 'string' } },
          runningInAzure: { type: 'boolean' },
          hostingPlan: { type: 'string', enum: HOSTING_PLANS },
          authMode: { type: 'string', enum: AUTH_MODES },
          allowLists: {
            type: 'object',
            required: ['aasHosts', 'powerBiHosts', 'callbackHosts'],
            properties: { aasHosts: { type: 'array', items: { type: 'string' } }, powerBiHosts: { type: 'array', items: { type: 'string' } }, callbackHosts: { type: 'array', items: { type: 'string' } } },
          },
          schedules: {
            type: 'array',
            items: {
              oneOf: [
                {
                  type: 'object',
                  required: ['name', 'schedule', 'state', 'nextOccurrence'],
                  additionalProperties: false,
                  properties: { name: { type: 'string' }, schedule: { type: 'string' }, state: { const: 'active' }, nextOccurrence: { type: 'string', format: 'date-time' } },
                },
                {
                  type: 'object',
                  required: ['name', 'schedule', 'state', 'problem'],
                  additionalProperties: false,
                  properties: { name: { type: 'string' }, schedule: { type: 'string' }, state: { const: 'disabled' }, problem: { type: 'string' } },
                },
              ],
            },
          },
        },
      },
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', enum: Object.values(ErrorCodes) }, message: { type: 'string' }, problems: { type: 'array', items: { type: 'string' } } } } },
      },
    },
  },
} as const;

import { OrchestrationRuntimeStatus, type DurableClient, type DurableOrchestrationStatus } from 'durable-functions';

/**
 * One page of a Durable status query, never more. The `durable-functions` client's getStatusBy
 * follows every continuation token (DurableClient.getStatusInternal), so it reads every matching
 * instance of the task hub; the Durable HTTP API itself pages (`top`, `x-ms-continuation-token`)
 * and filters by `instanceIdPrefix`, which the client does not expose (extension HttpApiHandler.cs:
 * InstanceIdPrefixParameter, PageSizeParameter "top"). This asks the same endpoint the client uses,
 * for one page.
 */

export interface StatusPageQuery {
  /** Page size, 1–1000; the HTTP API's default is 100. */
  top: number;
  continuationToken?: string;
  instanceIdPrefix?: string;
  createdTimeFrom?: Date;
  createdTimeTo?: Date;
  runtimeStatus?: OrchestrationRuntimeStatus[];
  showInput: boolean;
}

export type InstanceStatus = Pick<DurableOrchestrationStatus, 'name' | 'instanceId' | 'runtimeStatus' | 'input' | 'customStatus' | 'output' | 'createdTime' | 'lastUpdatedTime'>;

export interface StatusPage {
  statuses: InstanceStatus[];
  /** Absent on the last page. */
  continuationToken?: string;
}

export const FINISHED_RUNTIME_STATUSES: OrchestrationRuntimeStatus[] = [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated];

/** Where the client sends its status queries (the same fields durable-functions reads). */
interface ClientEndpoints {
  rpcBaseUrl?: string;
  managementUrls?: { id: string; statusQueryGetUri: string };
}

function instancesUrl(client: DurableClient): URL {
  // The binding data the client was built from; durable-functions keeps it as `clientData`.
  const endpoints = (client as unknown as { clientData?: ClientEndpoints }).clientData;
  if (endpoints?.rpcBaseUrl !== undefined && endpoints.rpcBaseUrl !== '') return new URL('instances/', endpoints.rpcBaseUrl);
  const management = endpoints?.managementUrls;
  if (management === undefined) throw new Error('The Durable client has no status endpoint.');
  // statusQueryGetUri is ".../instances/{id}?taskHub=..&connection=..&code=..": drop the id.
  return new URL(management.statusQueryGetUri.replace(management.id, ''));
}

export async function queryStatusPage(client: DurableClient, query: StatusPageQuery, signal?: AbortSignal): Promise<StatusPage> {
  const url = instancesUrl(client);
  const params = url.searchParams;
  params.set('top', String(query.top));
  params.set('showInput', String(query.showInput));
  if (query.instanceIdPrefix !== undefined) params.set('instanceIdPrefix', query.instanceIdPrefix);
  if (query.createdTimeFrom !== undefined) params.set('createdTimeFrom', query.createdTimeFrom.toISOString());
  if (query.createdTimeTo !== undefined) params.set('createdTimeTo', query.createdTimeTo.toISOString());
  if (query.runtimeStatus !== undefined && query.runtimeStatus.length > 0) params.set('runtimeStatus', query.runtimeStatus.join(','));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (query.continuationToken !== undefined) headers['x-ms-continuation-token'] = query.continuationToken;
  const response = await fetch(url, { headers, signal });
  if (response.status !== 200) {
    // The URL may carry the system key: never in the message.
    throw new Error(`The Durable status query answered HTTP ${response.status}.`);
  }
  const body = (await response.json()) as RawStatus[];
  const token = response.headers.get('x-ms-continuation-token');
  return {
    statuses: body.map(toStatus),
    // The extension answers "null" (or no header) on the last page.
    ...(token === null || token === '' || token === 'null' ? {} : { continuationToken: token }),
  };
}

interface RawStatus {
  name: string;
  instanceId: string;
  runtimeStatus: OrchestrationRuntimeStatus;
  input?: unknown;
  customStatus?: unknown;
  output?: unknown;
  createdTime: string;
  lastUpdatedTime: string;
}

function toStatus(raw: RawStatus): InstanceStatus {
  return {
    name: raw.name,
    instanceId: raw.instanceId,
    runtimeStatus: raw.runtimeStatus,
    input: raw.input,
    customStatus: raw.customStatus,
    output: raw.output,
    createdTime: new Date(raw.createdTime),
    lastUpdatedTime: new Date(raw.lastUpdatedTime),
  };
}

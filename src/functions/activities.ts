import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { getServices } from '../app';
import { finishedRunDurations, runHasEnded } from '../api/runLookup';
import { ACTIVITY_NAMES, inputTarget, type ActivityInput, type ActivityName, type ActivityResult } from '../orchestration/contracts';

/** An activity's handler, typed by its entry in the map (contracts.ts ActivityContracts). */
type Handler<N extends ActivityName> = (input: ActivityInput<N>, context: InvocationContext) => Promise<ActivityResult<N>>;

interface Registration<N extends ActivityName> {
  handler: Handler<N>;
  /** The handler reads runs through the Durable client, so it takes the client as an input binding. */
  durableClient?: true;
}

const services = async () => (await getServices()).activities;

/** One entry per activity of the map: a missing or mistyped one does not compile. */
const registrations: { [N in ActivityName]: Registration<N> } = {
  // Looks at the model in its service, and at this app's finished runs of the same shape through the Durable client.
  inspectModel: {
    durableClient: true,
    handler: async (input, context) => {
      const client = df.getClient(context);
      return (await services()).inspectModel(input, context, (refresh) => finishedRunDurations(client, inputTarget(input), refresh));
    },
  },
  submitRefresh: { handler: async (input, context) => (await services()).submitRefresh(input, context) },
  getRefreshStatus: { handler: async (input, context) => (await services()).getRefreshStatus(input, context) },
  cancelRefresh: { handler: async (input, context) => (await services()).cancelRefresh(input, context) },
  submitSync: { handler: async (input, context) => (await services()).submitSync(input, context) },
  getSyncStatus: { handler: async (input, context) => (await services()).getSyncStatus(input, context) },
  sendCallback: { handler: async (input, context) => (await services()).sendCallback(input, context) },
  // Reads another run's state through the Durable client.
  getRunState: { durableClient: true, handler: async (input, context) => ({ ended: await runHasEnded(df.getClient(context), input.runId) }) },
};

function register<N extends ActivityName>(name: N, registration: Registration<N>): void {
  // Durable hands over the input as deserialised JSON, in the shape the map declares for the name.
  df.app.activity(name, { ...(registration.durableClient ? { extraInputs: [df.input.durableClient()] } : {}), handler: registration.handler });
}

/** Generic in the name, so that each registration keeps its own input and result types. */
function registerFromMap<N extends ActivityName>(name: N): void {
  register(name, registrations[name]);
}

for (const name of ACTIVITY_NAMES) registerFromMap(name);

import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { getServices } from '../app';
import type { Services } from '../services';
import { finishedRunDurations, runHasEnded } from '../api/runLookup';
import { FunctionNames, type InspectModelInput, type RunStateInput } from '../orchestration/contracts';

type ActivityName = keyof Services['activities'];
const registrations: [string, ActivityName][] = [
  [FunctionNames.submitRefresh, 'submitRefresh'],
  [FunctionNames.getRefreshStatus, 'getRefreshStatus'],
  [FunctionNames.cancelRefresh, 'cancelRefresh'],
  [FunctionNames.submitSync, 'submitSync'],
  [FunctionNames.getSyncStatus, 'getSyncStatus'],
  [FunctionNames.sendCallback, 'sendCallback'],
];

// Reads another run's state through the Durable client, so it takes the client as an input binding.
df.app.activity(FunctionNames.getRunState, {
  extraInputs: [df.input.durableClient()],
  handler: async (input: unknown, context: InvocationContext) => ({ ended: await runHasEnded(df.getClient(context), (input as RunStateInput).runId) }),
});

// Looks at the model in AAS, and at this app's finished runs of the same shape through the Durable client.
df.app.activity(FunctionNames.inspectModel, {
  extraInputs: [df.input.durableClient()],
  handler: async (input: unknown, context: InvocationContext) => {
    const inspect = input as InspectModelInput;
    const client = df.getClient(context);
    return (await getServices()).activities.inspectModel(inspect, context, (refresh) => finishedRunDurations(client, inspect.model.server, inspect.model.model, refresh));
  },
});

for (const [name, activity] of registrations) {
  df.app.activity(name, {
    // Durable hands over the input as deserialised JSON; each activity declares its own type.
    handler: async (input: unknown, context: InvocationContext) => {
      const handler = (await getServices()).activities[activity] as (input: unknown, context: InvocationContext) => Promise<unknown>;
      return handler(input, context);
    },
  });
}

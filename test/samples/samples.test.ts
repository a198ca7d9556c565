import fs from 'node:fs';
import path from 'node:path';
import { parseRunRequest } from '../../src/api/requestSchema';
import { loadConfig } from '../../src/config/config';

/**
 * The ADF samples build their URLs and request bodies with pipeline expressions. This evaluates
 * the subset they use (string literals with '' escapes, `pipeline().parameters.<name>`,
 * `activity('<name>').output.value`, and the functions concat, json, string, uriComponent) with
 * given parameter values and a given function key, then checks what ADF would send: a body the
 * API's own request schema accepts, and a URL that carries the key as ?code= (the API copies it
 * into the Location ADF polls, so the polls are authorised whether or not ADF re-sends headers).
 */

type Value = unknown;

interface Scope {
  parameters: Record<string, Value>;
  activityOutputs: Record<string, Value>;
}

const FUNCTIONS: Record<string, (args: Value[]) => Value> = {
  concat: (args) => args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(''),
  json: ([text]) => JSON.parse(String(text)) as Value,
  string: ([value]) => (typeof value === 'string' ? value : JSON.stringify(value)),
  uriComponent: ([value]) => encodeURIComponent(String(value)),
};

function evaluateExpression(expression: string, scope: Scope): Value {
  const text = expression.trim();
  if (!text.startsWith('@')) throw new Error(`not an expression: ${text.slice(0, 60)}`);
  let index = 1;
  const skipSpaces = () => {
    while (text[index] === ' ') index += 1;
  };
  const term = (): Value => {
    skipSpaces();
    if (text[index] === "'") {
      let literal = '';
      index += 1;
      for (;;) {
        if (index >= text.length) throw new Error('unterminated string literal');
        if (text[index] === "'" && text[index + 1] === "'") {
          literal += "'";
          index += 2;
        } else if (text[index] === "'") {
          index += 1;
          return literal;
        } else {
          literal += text[index];
          index += 1;
        }
      }
    }
    const rest = text.slice(index);
    const parameter = /^pipeline\(\)\.parameters\.([A-Za-z0-9_]+)/.exec(rest);
    if (parameter?.[1] !== undefined) {
      index += parameter[0].length;
      if (!(parameter[1] in scope.parameters)) throw new Error(`pipeline parameter ${parameter[1]} is not declared`);
      return scope.parameters[parameter[1]];
    }
    const output = /^activity\('([^']+)'\)\.output\.value/.exec(rest);
    if (output?.[1] !== undefined) {
      index += output[0].length;
      if (!(output[1] in scope.activityOutputs)) throw new Error(`no output for activity ${output[1]}`);
      return scope.activityOutputs[output[1]];
    }
    const call = /^([A-Za-z]+)\(/.exec(rest);
    const fn = call?.[1] === undefined ? undefined : FUNCTIONS[call[1]];
    if (call === null || fn === undefined) throw new Error(`unsupported term at: ${rest.slice(0, 40)}`);
    index += call[0].length;
    const args: Value[] = [];
    for (;;) {
      args.push(term());
      skipSpaces();
      if (text[index] === ',') index += 1;
      else if (text[index] === ')') {
        index += 1;
        return fn(args);
      } else throw new Error(`expected , or ) at: ${text.slice(index, index + 40)}`);
    }
  };
  const value = term();
  skipSpaces();
  if (index !== text.length) throw new Error(`unexpected text after the expression: ${text.slice(index, index + 40)}`);
  return value;
}

interface PipelineActivity {
  name: string;
  type: string;
  policy?: { secureInput?: boolean; secureOutput?: boolean };
  typeProperties: { method?: string; url?: { value: string } | string; headers?: Record<string, unknown>; body?: { value: string } };
}
interface Pipeline {
  properties: { parameters: Record<string, { type: string; defaultValue: Value }>; activities: PipelineActivity[] };
}

const samplesDir = path.join(__dirname, '..', '..', 'samples');
const adfDir = path.join(samplesDir, 'adf');
const config = loadConfig({ AUTH_MODE: 'managedIdentity', CALLBACK_ALLOWED_HOSTS: '*.datafactory.azure.com' });
const pipelines = fs.readdirSync(adfDir).filter((file) => file.endsWith('.json'));
const readPipeline = (file: string) => JSON.parse(fs.readFileSync(path.join(adfDir, file), 'utf8')) as Pipeline;
const defaults = (pipeline: Pipeline) => Object.fromEntries(Object.entries(pipeline.properties.parameters).map(([name, p]) => [name, p.defaultValue]));
const urlOf = (activity: PipelineActivity) => (typeof activity.typeProperties.url === 'string' ? activity.typeProperties.url : (activity.typeProperties.url?.value ?? ''));
const refreshCalls = (pipeline: Pipeline) => pipeline.properties.activities.filter((activity) => urlOf(activity).includes('/api/refreshes'));
const CALLBACK = 'https://dpwesteurope.svc.datafactory.azure.com/dataplane/workflow/callback/abc?callbackUrl=x';
// A key with characters that must be escaped in a query string.
const FUNCTION_KEY = 'k3y/with+plus==';

function sentBody(activity: PipelineActivity, scope: Scope): Record<string, unknown> {
  const body = evaluateExpression(activity.typeProperties.body?.value ?? '', scope) as Record<string, unknown>;
  // The Webhook activity adds callBackUri itself.
  return activity.type === 'WebHook' ? { ...body, callBackUri: CALLBACK } : body;
}

describe('ADF samples', () => {
  it('exist', () => {
    expect(pipelines.length).toBeGreaterThanOrEqual(3);
  });

  it.each(pipelines)('%s sends a body the API accepts', (file) => {
    const pipeline = readPipeline(file);
    const calls = refreshCalls(pipeline);
    expect(calls.length).toBeGreaterThan(0);
    for (const activity of calls) {
      const parsed = parseRunRequest(sentBody(activity, { parameters: defaults(pipeline), activityOutputs: { GetFunctionKey: FUNCTION_KEY } }), config, 'sample');
      expect(parsed).toEqual(expect.objectContaining({ ok: true }));
    }
  });

  it.each(pipelines)('%s sends the function key as ?code= in the URL only, and keeps it out of run history', (file) => {
    const pipeline = readPipeline(file);
    const getKey = pipeline.properties.activities.find((activity) => activity.name === 'GetFunctionKey');
    expect(getKey?.policy?.secureOutput).toBe(true);
    for (const activity of refreshCalls(pipeline)) {
      const url = new URL(String(evaluateExpression(urlOf(activity), { parameters: defaults(pipeline), activityOutputs: { GetFunctionKey: FUNCTION_KEY } })));
      expect({ path: url.pathname, code: url.searchParams.get('code') }).toEqual({ path: '/api/refreshes', code: FUNCTION_KEY });
      // One way to send it: a header ADF might not repeat on its polls would only hide a missing ?code=.
      expect(Object.keys(activity.typeProperties.headers ?? {}).map((name) => name.toLowerCase())).not.toContain('x-functions-key');
      expect(activity.policy?.secureInput).toBe(true);
    }
  });

  it('the Web activity sample refreshes the objects given as a pipeline parameter (whole model by default)', () => {
    const pipeline = readPipeline('pipeline-web-activity.json');
    expect(pipeline.properties.parameters.objects).toEqual({ type: 'array', defaultValue: [] });
    const [activity] = refreshCalls(pipeline);
    if (activity === undefined) throw new Error('no refresh call in pipeline-web-activity.json');
    const objects = [{ table: 'FactSales', partition: "FactSales 2024 'Q1'" }, { table: 'DimCustomer' }];
    const body = sentBody(activity, { parameters: { ...defaults(pipeline), objects }, activityOutputs: { GetFunctionKey: FUNCTION_KEY } });
    expect(body.objects).toEqual(objects);
    expect(parseRunRequest(body, config, 'sample')).toEqual(expect.objectContaining({ ok: true }));
    expect(sentBody(activity, { parameters: defaults(pipeline), activityOutputs: { GetFunctionKey: FUNCTION_KEY } }).objects).toEqual([]);
  });

  it('the Power BI sample names a semantic model (workspace + semanticModel) with applyRefreshPolicy as a JSON boolean', () => {
    const pipeline = readPipeline('pipeline-web-activity-powerbi.json');
    const [activity] = refreshCalls(pipeline);
    if (activity === undefined) throw new Error('no refresh call in pipeline-web-activity-powerbi.json');
    const scope = (applyRefreshPolicy: string) => ({ parameters: { ...defaults(pipeline), applyRefreshPolicy }, activityOutputs: { GetFunctionKey: FUNCTION_KEY } });
    const parsed = parseRunRequest(sentBody(activity, scope('false')), config, 'sample');
    expect(parsed.ok && parsed.request).toEqual(expect.objectContaining({ backend: 'powerbi', workspace: 'Finance', semanticModel: 'Sales', refresh: expect.objectContaining({ applyRefreshPolicy: false }) }));
    const withPolicy = parseRunRequest(sentBody(activity, scope('true')), config, 'sample');
    expect(withPolicy.ok && withPolicy.request.refresh.applyRefreshPolicy).toBe(true);
  });

  it('the evaluator really validates: a sample body with a wrong field is refused', () => {
    const body = evaluateExpression(`@json(concat('{"server":"', pipeline().parameters.server, '","model":"m","typ":"full"}'))`, {
      parameters: { server: 'asazure://westeurope.asazure.windows.net/myserver' },
      activityOutputs: {},
    });
    const parsed = parseRunRequest(body, config, 'sample');
    expect(parsed).toEqual({ ok: false, problems: ['unknown field "typ"'] });
  });
});

describe('Logic Apps sample', () => {
  const workflow = JSON.parse(fs.readFileSync(path.join(samplesDir, 'logic-apps', 'workflow.json'), 'utf8')) as {
    definition: {
      parameters: Record<string, { type: string; defaultValue?: unknown }>;
      actions: Record<string, { inputs: { uri: string; headers?: Record<string, string>; body: unknown }; runtimeConfiguration?: { secureData?: { properties: string[] } } }>;
    };
    parameters?: Record<string, { value: unknown }>;
  };

  it('can be saved: every workflow parameter without a default gets a value', () => {
    const withoutValue = Object.entries(workflow.definition.parameters)
      .filter(([, parameter]) => parameter.defaultValue === undefined)
      .map(([name]) => name)
      .filter((name) => workflow.parameters?.[name]?.value === undefined);
    expect(withoutValue).toEqual([]);
  });

  it('sends the key as ?code= in the URI (carried into the Location it follows) and hides the inputs from run history', () => {
    const action = workflow.definition.actions.Refresh_Sales_and_wait;
    expect(action?.inputs.uri).toBe("@{parameters('apiBaseUrl')}/refreshes?code=@{encodeUriComponent(parameters('functionKey'))}");
    expect(Object.keys(action?.inputs.headers ?? {}).map((name) => name.toLowerCase())).not.toContain('x-functions-key');
    expect(action?.runtimeConfiguration?.secureData?.properties).toContain('inputs');
    expect(parseRunRequest(action?.inputs.body, config, 'sample')).toEqual(expect.objectContaining({ ok: true }));
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { parseRunRequest } from '../../src/api/requestSchema';
import { loadConfig } from '../../src/config/config';

/**
 * The ADF samples build their request bodies with `@json(concat(...))` expressions over pipeline
 * parameters. This evaluates exactly that subset (string literals with '' escapes and
 * `pipeline().parameters.<name>`) with the parameters' default values, then validates the body
 * with the API's own request schema, so a sample cannot drift from what the API accepts.
 */
function evaluateConcatJson(expression: string, parameters: Record<string, string>): unknown {
  const inner = /^@json\(concat\((.*)\)\)$/s.exec(expression.trim());
  if (inner?.[1] === undefined) throw new Error(`unsupported expression: ${expression.slice(0, 80)}`);
  const args = inner[1];
  let text = '';
  let index = 0;
  while (index < args.length) {
    const char = args[index] as string;
    if (char === ' ' || char === ',') {
      index += 1;
    } else if (char === "'") {
      let literal = '';
      index += 1;
      for (;;) {
        if (args[index] === "'" && args[index + 1] === "'") {
          literal += "'";
          index += 2;
        } else if (args[index] === "'") {
          index += 1;
          break;
        } else if (index >= args.length) {
          throw new Error('unterminated string literal');
        } else {
          literal += args[index];
          index += 1;
        }
      }
      text += literal;
    } else {
      const reference = /^pipeline\(\)\.parameters\.([A-Za-z0-9_]+)/.exec(args.slice(index));
      if (reference?.[1] === undefined) throw new Error(`unsupported term at: ${args.slice(index, index + 40)}`);
      const value = parameters[reference[1]];
      if (value === undefined) throw new Error(`parameter ${reference[1]} has no default value`);
      text += value;
      index += reference[0].length;
    }
  }
  return JSON.parse(text) as unknown;
}

interface PipelineActivity {
  name: string;
  type: string;
  typeProperties: { method?: string; url?: { value: string }; body?: { value: string } };
}

const samplesDir = path.join(__dirname, '..', '..', 'samples', 'adf');
const config = loadConfig({ AUTH_MODE: 'managedIdentity', CALLBACK_ALLOWED_HOSTS: '*.datafactory.azure.com' });

const pipelines = fs.readdirSync(samplesDir).filter((file) => file.endsWith('.json'));

describe('ADF samples', () => {
  it('exist', () => {
    expect(pipelines.length).toBeGreaterThanOrEqual(3);
  });

  it.each(pipelines)('%s sends a body the API accepts', (file) => {
    const pipeline = JSON.parse(fs.readFileSync(path.join(samplesDir, file), 'utf8')) as {
      properties: { parameters: Record<string, { defaultValue: string }>; activities: PipelineActivity[] };
    };
    const parameters = Object.fromEntries(Object.entries(pipeline.properties.parameters).map(([name, p]) => [name, p.defaultValue]));
    const calls = pipeline.properties.activities.filter((activity) => activity.typeProperties.url?.value.includes('/api/refreshes') === true);
    expect(calls.length).toBeGreaterThan(0);
    for (const activity of calls) {
      expect(activity.typeProperties.body).toBeDefined();
      const body = evaluateConcatJson(activity.typeProperties.body?.value ?? '', parameters) as Record<string, unknown>;
      // The Webhook activity adds callBackUri itself.
      const sent = activity.type === 'WebHook' ? { ...body, callBackUri: 'https://dpwesteurope.svc.datafactory.azure.com/dataplane/workflow/callback/abc?callbackUrl=x' } : body;
      const parsed = parseRunRequest(sent, config, 'sample');
      expect(parsed).toEqual(expect.objectContaining({ ok: true }));
    }
  });

  it('the evaluator really validates: a sample body with a wrong field is refused', () => {
    const body = evaluateConcatJson(`@json(concat('{"server":"', pipeline().parameters.server, '","model":"m","typ":"full"}'))`, {
      server: 'asazure://westeurope.asazure.windows.net/myserver',
    });
    const parsed = parseRunRequest(body, config, 'sample');
    expect(parsed).toEqual({ ok: false, problems: ['unknown field "typ"'] });
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { parseCommandLine } from '../../src/cli/args';

/**
 * The pipeline samples call `npx aas-refresh …` in YAML folded blocks (`>-`: the lines joined with
 * spaces). Each command, with the pipeline's variables filled in, must be one the CLI accepts, with
 * the options the comment promises: a typo in a flag would fail only in someone's pipeline.
 */
const root = path.join(__dirname, '..', '..');
const SERVER = 'asazure://westeurope.asazure.windows.net/myserver';

function commandsIn(file: string): string[][] {
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  const commands: string[][] = [];
  lines.forEach((line, index) => {
    if (!line.trim().startsWith('npx aas-refresh')) return;
    const folded = [line.trim()];
    for (let next = index + 1; next < lines.length && (lines[next] ?? '').trim().startsWith('--'); next += 1) folded.push((lines[next] ?? '').trim());
    const text = folded
      .join(' ')
      .replace(/\$\{\{ vars\.AAS_SERVER \}\}|\$\(AasServer\)/g, SERVER);
    expect(text).not.toMatch(/\$\{\{|\$\(/);
    // Words, with "..." quoting as the shell reads it here (no escapes in these samples).
    const words = [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2] ?? '');
    expect(words.slice(0, 2)).toEqual(['npx', 'aas-refresh']);
    commands.push(words.slice(2));
  });
  return commands;
}

const env = { AAS_REFRESH_URL: 'https://refresh-app.azurewebsites.net', AAS_REFRESH_KEY: 'a-function-key' };

test.each(['samples/github-actions/refresh-after-deploy.yml', 'samples/azure-devops/refresh-after-deploy.yml'])('%s: each aas-refresh step is a command the CLI accepts', (file) => {
  const commands = commandsIn(file).map((args) => parseCommandLine(args, env));
  expect(commands.map((command) => command.name)).toEqual(['refresh', 'refresh']);
  const [appStep, directStep] = commands;
  expect(appStep).toMatchObject({
    connection: { mode: 'app', apiBase: 'https://refresh-app.azurewebsites.net/api', key: 'a-function-key' },
    watch: { wait: true },
    body: { server: SERVER, model: 'Sales', type: 'full', objects: [{ table: 'FactSales', partition: 'FactSales 2026' }, { table: 'DimCustomer' }], timeout: 'PT2H', onConflict: 'wait', sync: true },
  });
  expect(directStep).toMatchObject({ connection: { mode: 'direct' }, watch: { wait: true }, body: { type: 'full' } });
});

// What azd makes of infra/main.parameters.json for a given azd environment, as a .bicepparam
// file the real Bicep CLI can compile (build-params, lint) and evaluate (snapshot).
// Followed: Azure/azure-dev cli/azd/pkg/infra/provisioning/bicep/bicep_provider.go
// (armParameterFileValue: "${VAR}" / "${VAR=default}" substituted from the environment, then
// strings convertible to bool/int accepted for bool/int parameters; an empty string for a string
// parameter means "not set", so the template's default applies or azd prompts).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** envsubst as azd applies it to the parameters file: ${VAR} and ${VAR=default} (default when unset). */
function substitute(text, env) {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:=([^}]*))?\}/g, (_match, name, fallback) => {
    const value = env[name];
    if (value !== undefined) return value;
    return fallback ?? '';
  });
}

/**
 * The parameter values azd would deploy with: parameters file + environment, converted to the
 * template's parameter types (template = compiled main.json). Parameters left unset are omitted.
 */
function azdParameterValues(parametersFile, template, env) {
  // Values are substituted inside JSON strings; escape them so a quote cannot break the JSON.
  const escapedEnv = Object.fromEntries(Object.entries(env).map(([name, value]) => [name, JSON.stringify(String(value)).slice(1, -1)]));
  const parsed = JSON.parse(substitute(fs.readFileSync(parametersFile, 'utf8'), escapedEnv));
  const values = {};
  for (const [name, entry] of Object.entries(parsed.parameters)) {
    const declared = template.parameters[name];
    if (declared === undefined) {
      // Passed to the deployment as is: ARM refuses it, and so does build-params.
      values[name] = entry.value;
      continue;
    }
    const type = declared.type.toLowerCase();
    let value = entry.value;
    if (typeof value === 'string') {
      if (type === 'bool' && /^(1|t|true|0|f|false)$/i.test(value)) value = /^(1|t|true)$/i.test(value);
      else if (type === 'int' && /^[+-]?\d+$/.test(value)) value = Number.parseInt(value, 10);
      else if (type === 'string' || type === 'securestring') {
        if (value === '' && (declared.defaultValue === undefined || declared.defaultValue === '')) continue;
      }
    }
    values[name] = value;
  }
  return values;
}

/** A JSON value as a Bicep literal. */
function bicepLiteral(value, indent = '') {
  const inner = `${indent}  `;
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\$\{/g, '\\${').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => `${inner}${bicepLiteral(item, inner)}`).join('\n')}\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([key, item]) => `${inner}${bicepLiteral(key)}: ${bicepLiteral(item, inner)}`).join('\n')}\n${indent}}`;
}

/** The text of a .bicepparam file that uses `bicepFile` with these values. */
function bicepParamText(bicepFile, values, fromDir) {
  const using = path.relative(fromDir, bicepFile).split(path.sep).join('/');
  const lines = [`using '${using}'`, ''];
  for (const [name, value] of Object.entries(values)) lines.push(`param ${name} = ${bicepLiteral(value)}`);
  return `${lines.join('\n')}\n`;
}

module.exports = { substitute, azdParameterValues, bicepLiteral, bicepParamText };

// The pinned Bicep CLI (tools/bicep/bicep.csproj), restored from NuGet on first use, and a thin
// runner that returns its diagnostics as data (SARIF). Used by tools/bicep/check.js (.ci/run,
// `npm run infra:check`) and by the tests under test/infra. `node tools/bicep/bicep.js path`
// prints the binary's path.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const projectDir = __dirname;
const project = path.join(projectDir, 'bicep.csproj');
const version = /<BicepVersion>([^<]+)<\/BicepVersion>/.exec(fs.readFileSync(project, 'utf8'))[1];
const packageDir = path.join(projectDir, 'packages', 'azure.bicep.commandline.linux-x64', version);
const binary = path.join(packageDir, 'tools', 'bicep');
// SHA-512 of the .nupkg as NuGet records it: a different download (another version behind the
// same number, a proxy's rewrite) fails here instead of compiling with an unknown compiler.
const expectedSha512 = {
  '0.49.2': 'kBnX0iG9wd/PWdCTwFfUvm6Jemn+5L7sY7b7HQi5k+LLwdFmrbw4y5RTLFxewCFMdBqUThiOILMa7sgzklPEAQ==',
};

/** Restores the package if needed, checks its hash, and returns the path of the bicep binary. */
function bicepPath() {
  if (!fs.existsSync(binary)) {
    try {
      execFileSync('dotnet', ['restore', project, '--verbosity', 'quiet', '--nologo'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    } catch (error) {
      const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
      throw new Error(`could not restore the Bicep CLI ${version} from NuGet (dotnet restore tools/bicep/bicep.csproj)${output ? `:\n${output}` : `: ${error.message}`}`);
    }
  }
  const recorded = fs.readFileSync(path.join(packageDir, `azure.bicep.commandline.linux-x64.${version}.nupkg.sha512`), 'utf8').trim();
  if (recorded !== expectedSha512[version]) {
    throw new Error(`the restored Bicep CLI ${version} has SHA-512 ${recorded}, expected ${expectedSha512[version] ?? '(none pinned for this version)'}`);
  }
  // NuGet does not keep the executable bit of files in a package.
  fs.chmodSync(binary, 0o755);
  return binary;
}

/** Reads the diagnostics of a SARIF log (bicep --diagnostics-format sarif). */
function sarifDiagnostics(text) {
  const start = text.indexOf('{');
  if (start < 0) return [];
  const log = JSON.parse(text.slice(start));
  return log.runs.flatMap((run) =>
    (run.results ?? []).map((result) => {
      const location = result.locations?.[0]?.physicalLocation;
      return {
        code: result.ruleId,
        level: result.level ?? 'warning',
        message: result.message?.text ?? '',
        file: location?.artifactLocation?.uri ? decodeURIComponent(location.artifactLocation.uri.replace(/^file:\/\//, '')) : '',
        line: location?.region?.startLine ?? 0,
        column: location?.region?.startColumn ?? location?.region?.charOffset ?? 0,
      };
    }),
  );
}

/**
 * Runs `bicep <command> <file> ...`. Returns the exit status, stdout (e.g. the compiled template
 * with --stdout) and every diagnostic (errors, warnings and infos) reported in SARIF.
 */
function runBicep(command, file, extraArgs = []) {
  const result = spawnSync(bicepPath(), [command, file, '--diagnostics-format', 'sarif', ...extraArgs], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  const stdout = result.stdout ?? '';
  const stderr = result.stderr ?? '';
  // build/build-params write SARIF to stderr (stdout carries --stdout output); lint writes it to stdout.
  const sarifText = [stderr, stdout].find((text) => text.includes('"runs"') && text.includes('sarif')) ?? '';
  const diagnostics = sarifText ? sarifDiagnostics(sarifText) : [];
  const otherOutput = sarifText === stderr ? '' : stderr.trim();
  return { status: result.status ?? 1, stdout: sarifText === stdout ? '' : stdout, diagnostics, otherOutput };
}

/** "file(line,col) : Level CODE: message", as bicep prints by default. */
function formatDiagnostic(diagnostic) {
  const file = path.relative(process.cwd(), diagnostic.file) || diagnostic.file;
  return `${file}(${diagnostic.line},${diagnostic.column}) : ${diagnostic.level} ${diagnostic.code}: ${diagnostic.message}`;
}

module.exports = { version, bicepPath, runBicep, formatDiagnostic };

if (require.main === module && process.argv[2] === 'path') {
  console.log(bicepPath());
}

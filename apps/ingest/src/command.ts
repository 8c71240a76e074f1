// The `rtmp-ingest` command, loaded by cli.ts once the garbage collector is tuned (gc-tuning.ts).
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from './config.js';
import { messageOf } from './config-sources.js';
import { runIngest } from './main.js';
import { helpText } from './options.js';

function version(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const value = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? pkg.version : undefined;
    return typeof value === 'string' ? value : 'unknown';
  } catch {
    return 'unknown';
  }
}

let action: ReturnType<typeof loadConfig>;
try {
  action = loadConfig(process.argv.slice(2));
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(
      `rtmp-ingest: invalid configuration:\n${e.messages.map((m) => `  - ${m}`).join('\n')}\n`,
    );
    process.stderr.write('Run with --help for the list of options.\n');
    process.exit(2);
  }
  throw e;
}
if (action.kind === 'help') {
  process.stdout.write(`${helpText()}\n`);
} else if (action.kind === 'version') {
  process.stdout.write(`rtmp-ingest ${version()}\n`);
} else {
  runIngest(action.config).catch((e: unknown) => {
    process.stderr.write(`rtmp-ingest: failed to start: ${messageOf(e)}\n`);
    process.exit(1);
  });
}

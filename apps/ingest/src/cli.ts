#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { ConfigError, helpText, loadConfig } from './config.js';
import { runIngest } from './main.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
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
    process.stderr.write(`rtmp-ingest: failed to start: ${(e as Error).message ?? String(e)}\n`);
    process.exit(1);
  });
}

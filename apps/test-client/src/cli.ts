#!/usr/bin/env node
import { ExitCode, errorJson, exitCodeOf, UsageError } from './common.js';
import { loadCommand, loadHelp } from './load.js';
import { playCommand, playHelp } from './play.js';
import { probeCommand, probeHelp } from './probe.js';
import { publishCommand, publishHelp } from './publish.js';
import { signCommand, signHelp } from './sign.js';

const mainHelp = `Usage: rtmp-test-client <command> [options]

Publish, play, probe and load-test any RTMP/RTMPS server.

Commands:
  publish <file.flv | --synthetic> <url>   publish a file or generated media (real time, --fast, --loop)
  play <url> [-o out.flv] [--duration s]   play: record to FLV or discard; codecs, bitrate, fps, gaps
  probe <url>                              metadata, codecs (RFC 6381), resolution, handshake kind
  load <url> --publishers N --players M --duration s
                                           many connections in one process; throughput, drops, latency
  sign <url> --secret s --action publish|play
                                           add an expiry and a signature (rtmp-ingest --sign-secret)

Run 'rtmp-test-client <command> --help' for a command's options.

Exit codes: 0 ok, 1 runtime/connection error, 2 usage, 3 rejected by the server, 4 timeout (or no media).`;

const commands: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  publish: { run: publishCommand, help: publishHelp },
  play: { run: playCommand, help: playHelp },
  probe: { run: probeCommand, help: probeHelp },
  load: { run: loadCommand, help: loadHelp },
  sign: { run: signCommand, help: signHelp },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp);
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  const command = commands[name];
  if (!command) {
    console.error(`unknown command: ${name}\n\n${mainHelp}`);
    return ExitCode.Usage;
  }
  const json = rest.includes('--json');
  try {
    return await command.run(rest);
  } catch (error) {
    const code = exitCodeOf(error);
    if (json)
      console.log(JSON.stringify({ ok: false, command: name, exitCode: code, error: errorJson(error) }));
    if (error instanceof UsageError) console.error(`${name}: ${error.message}\n\n${command.help}`);
    else {
      const detail = errorJson(error);
      const status = detail.status as { code?: string; description?: string } | undefined;
      console.error(
        `${name}: ${String(detail.code)}: ${String(detail.message)}${status ? ` [${status.code}: ${status.description}]` : ''}`,
      );
    }
    return code;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = ExitCode.Runtime;
  },
);

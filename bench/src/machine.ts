import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';

function firstLine(command: string, args: string[]): string {
  try {
    // nginx -v prints to stderr.
    const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.split('\n')[0]?.trim() ?? '';
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    return stderr.split('\n')[0]?.trim() || 'not found';
  }
}

function nginxVersion(): string {
  try {
    const result = execFileSync('sh', ['-c', 'nginx -v 2>&1'], { encoding: 'utf8' });
    return result.trim();
  } catch {
    return 'not found';
  }
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return match?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

function modulePackage(): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', `$\{Package} $\{Version}`, 'libnginx-mod-rtmp'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'libnginx-mod-rtmp (version unknown)';
  }
}

/** The machine and tool versions, as lines for BENCHMARKS.md. */
export function describeMachine(): string[] {
  return [
    `nproc: ${os.availableParallelism()} (${cpuModel()})`,
    `memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `load average at start: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `kernel: ${os.type()} ${os.release()} ${os.arch()}`,
    `node: ${process.version}`,
    `nginx: ${nginxVersion()} with ${modulePackage()}`,
    `ffmpeg: ${firstLine('ffmpeg', ['-version'])}`,
    `rtmpdump: ${firstLine('sh', ['-c', 'rtmpdump -h 2>&1 | head -1'])}`,
    'node-media-server: 4.4.3',
  ];
}

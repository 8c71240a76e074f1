/**
 * The `--name=value` / `--name` arguments of a bench script, as a map (`--name` alone is `'true'`). pnpm's `--`,
 * which separates its own options from the script's, is skipped; anything else is refused.
 */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    if (arg === '--') continue;
    const match = /^--([^=]+)(?:=(.*))?$/.exec(arg);
    if (!match?.[1]) throw new Error(`unknown argument ${arg}`);
    flags.set(match[1], match[2] ?? 'true');
  }
  return flags;
}

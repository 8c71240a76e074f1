import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { CONFIG_ENV, envName, OPTIONS, type OptionKey } from './options.js';

/** One setting as a source gave it, before validation. */
export interface RawSetting {
  readonly value: string | boolean | number | readonly unknown[];
  /** Where it came from, for messages: `--port`, `RTMP_INGEST_PORT`, `config file key "port"`. */
  readonly source: string;
}

/** The settings one source gave, by config-file key. */
export type RawSettings = Map<OptionKey, RawSetting>;

/** What the command line holds: settings, the config file it names, and whether it asks for help or the version. */
export interface ArgvSettings {
  readonly settings: RawSettings;
  /** `--config`'s value, when given. */
  readonly configFile: string | undefined;
  readonly action: 'help' | 'version' | undefined;
}

type ArgvOptions = NonNullable<ParseArgsConfig['options']>;

/** `node:util.parseArgs` options: one per row of OPTIONS (booleans for `bool` rows), `--config`, help, version. */
const ARGV_OPTIONS: ArgvOptions = {
  ...Object.fromEntries(
    OPTIONS.map((o): [string, ArgvOptions[string]] => [
      o.flag,
      { type: o.kind === 'bool' ? 'boolean' : 'string' },
    ]),
  ),
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
};

const unexpected = (arg: string) => `unexpected argument "${arg}" (options start with --; see --help)`;

/**
 * Reads the command line with `node:util.parseArgs`, collecting every problem into `errors` instead of stopping at
 * the first (so parsing is not strict, and the checks strict mode would make are made here, with our messages).
 * A `--` separates nothing (`pnpm start -- --port 1935` hands it on), and an option followed by another option
 * (`--port --http-port 8081`) lacks a value; parseArgs would read on differently in both cases, so reading resumes
 * right after them.
 */
export function readArgv(argv: readonly string[], errors: string[]): ArgvSettings {
  const settings: RawSettings = new Map();
  let configFile: string | undefined;
  let action: 'help' | 'version' | undefined;
  let start = 0;
  while (start < argv.length) {
    const args = argv.slice(start);
    const { tokens } = parseArgs({
      args,
      options: ARGV_OPTIONS,
      strict: false,
      allowPositionals: true,
      tokens: true,
    });
    let resumeAt = args.length;
    // Short options grouped in one argument (`-hv`) come as one token each: report the argument once.
    const reported = new Set<number>();
    for (const token of tokens) {
      if (token.kind === 'option-terminator') {
        resumeAt = token.index + 1;
        break;
      }
      if (token.kind === 'positional') {
        errors.push(unexpected(token.value));
        continue;
      }
      const arg = args[token.index] ?? token.rawName;
      if (!token.rawName.startsWith('--')) {
        if (arg === '-h') action = 'help';
        else if (arg === '-v') action ??= 'version';
        else if (!reported.has(token.index)) errors.push(unexpected(arg));
        reported.add(token.index);
        continue;
      }
      const { name, value } = token;
      if (value === undefined && name === 'help') {
        action = 'help';
        continue;
      }
      if (value === undefined && name === 'version') {
        action ??= 'version';
        continue;
      }
      if (name === 'config') {
        if (value === undefined) errors.push('--config needs a value');
        else configFile = value;
        continue;
      }
      const spec = OPTIONS.find((o) => o.flag === name);
      const negated = name.startsWith('no-')
        ? OPTIONS.find((o) => o.flag === name.slice(3) && o.kind === 'bool')
        : undefined;
      if (spec?.kind === 'bool') {
        settings.set(spec.key, { value: value ?? true, source: `--${name}` });
      } else if (spec !== undefined) {
        if (value === undefined || (!token.inlineValue && value.startsWith('--'))) {
          errors.push(`--${name} needs a value`);
          // The option-like argument parseArgs took for a value is read again as what it is.
          if (value !== undefined) {
            resumeAt = token.index + 1;
            break;
          }
        } else if (spec.kind === 'strings') {
          // Repeatable: each occurrence adds a value.
          const previous = settings.get(spec.key)?.value;
          settings.set(spec.key, {
            value: [...(Array.isArray(previous) ? previous : []), value],
            source: `--${name}`,
          });
        } else settings.set(spec.key, { value, source: `--${name}` });
      } else if (negated !== undefined) {
        if (value !== undefined) errors.push(`--${name} takes no value`);
        settings.set(negated.key, { value: false, source: `--${name}` });
      } else {
        errors.push(`unknown option --${name} (see --help)`);
      }
    }
    start += resumeAt;
  }
  return { settings, configFile, action };
}

/** The settings given as `RTMP_INGEST_*` variables (empty ones count as unset). */
export function readEnv(env: Readonly<Record<string, string | undefined>>): RawSettings {
  const settings: RawSettings = new Map();
  for (const o of OPTIONS) {
    const value = env[envName(o)];
    if (value !== undefined && value !== '') settings.set(o.key, { value, source: envName(o) });
  }
  return settings;
}

/** The config file named by `--config`, else by {@link CONFIG_ENV}; undefined when neither names one. */
export function configFileOf(
  argv: ArgvSettings,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const file = argv.configFile ?? env[CONFIG_ENV];
  return file === '' ? undefined : file;
}

/** `error`'s message (what `readFileSync` and `JSON.parse` throw are Errors). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The settings in a JSON config file; problems (unreadable, not JSON, unknown keys) go to `errors`. */
export function readConfigFile(file: string, errors: string[]): RawSettings {
  const settings: RawSettings = new Map();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    errors.push(`cannot read config file ${file}: ${messageOf(e)}`);
    return settings;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    errors.push(`config file ${file} is not valid JSON: ${messageOf(e)}`);
    return settings;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    errors.push(`config file ${file} must hold a JSON object`);
    return settings;
  }
  const entries: [string, unknown][] = Object.entries(json);
  for (const [k, v] of entries) {
    const spec = OPTIONS.find((o) => o.key === k);
    if (spec === undefined) {
      errors.push(`config file ${file}: unknown key "${k}"`);
      continue;
    }
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || Array.isArray(v)) {
      settings.set(spec.key, { value: v, source: `config file key "${k}"` });
    } else {
      errors.push(`config file ${file}: key "${k}" must be a string, number, boolean or array`);
    }
  }
  return settings;
}

import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// This file sits at `<repo>/packages/testing/src/`.
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PACKAGES = path.join(REPO, 'packages');

interface Manifest {
  name: string;
  private?: boolean;
  dependencies?: Record<string, string>;
}

function manifest(packageDir: string): Manifest {
  return JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as Manifest;
}

/** Every workspace package under `packages/`, by name. */
function workspacePackages(): Map<string, string> {
  const byName = new Map<string, string>();
  for (const entry of readdirSync(PACKAGES, { withFileTypes: true })) {
    const dir = path.join(PACKAGES, entry.name);
    if (entry.isDirectory() && existsSync(path.join(dir, 'package.json')))
      byName.set(manifest(dir).name, dir);
  }
  return byName;
}

/** `packageDir` and the workspace packages it depends on at run time (`workspace:` specs), transitively. */
function withWorkspaceDependencies(packageDir: string): string[] {
  const workspace = workspacePackages();
  const found: string[] = [];
  const visit = (dir: string): void => {
    if (found.includes(dir)) return;
    found.push(dir);
    for (const [name, spec] of Object.entries(manifest(dir).dependencies ?? {})) {
      if (!spec.startsWith('workspace:')) continue;
      const dependency = workspace.get(name);
      if (dependency === undefined) throw new Error(`${name} is not a package under ${PACKAGES}`);
      visit(dependency);
    }
  };
  visit(path.resolve(packageDir));
  return found;
}

function exec(command: string, args: readonly string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Options of {@link PackedInstall.typeErrors}. */
export interface TypeCheckOptions {
  /**
   * Ambient type packages of the user's project, from the repository's `node_modules/@types` (default none: a
   * package whose declarations need `@types/node` says so with `['node']`).
   */
  types?: readonly string[];
}

/** A user's project holding the packed tarballs of a package and of its `@rtmp/*` dependencies. */
export interface PackedInstall {
  /** The project folder: `package.json`, and `node_modules/` as `npm install <tarballs>` made it. */
  readonly dir: string;
  /** The names installed: the package under test first, then its workspace dependencies. */
  readonly packages: readonly string[];
  /** Runs `code` as a CommonJS script (`node -e`) in {@link PackedInstall.dir}; returns its standard output. */
  runCjs(code: string): string;
  /** Runs `code` as an ES module (`node --input-type=module -e`) in {@link PackedInstall.dir}; returns its output. */
  runEsm(code: string): string;
  /**
   * Type-checks user files (file name ending in `.mts` or `.cts` -> source) against the shipped declarations:
   * strict, NodeNext, and the installed packages' own `.d.ts` files checked too (no `skipLibCheck`).
   * @returns the diagnostics as `file:line: message`; empty when everything compiles
   */
  typeErrors(files: Readonly<Record<string, string>>, options?: TypeCheckOptions): string[];
  /** Deletes the project and the tarballs. */
  remove(): void;
}

/**
 * The published shape of a workspace package, as a user gets it: `pnpm pack` of it and of every workspace package
 * it depends on (so `workspace:^` becomes a version range), then `npm install --offline` of those tarballs into an
 * empty project in a temporary folder outside the repository. Missing `dist/` folders are built first; existing ones
 * are never rebuilt here, since other packages' tests may be reading them (turbo builds before tests).
 */
export function installPacked(packageDir: string): PackedInstall {
  const dirs = withWorkspaceDependencies(packageDir);
  const names = dirs.map((dir) => manifest(dir).name);
  const work = mkdtempSync(path.join(tmpdir(), `rtmp-pack-${path.basename(dirs[0]!)}-`));
  const tarballs = path.join(work, 'tarballs');
  const app = path.join(work, 'app');
  mkdirSync(tarballs);
  mkdirSync(app);
  try {
    for (const dir of dirs) {
      if (manifest(dir).private) throw new Error(`${dir} is private: it is never packed`);
      if (!existsSync(path.join(dir, 'dist'))) exec('pnpm', ['run', 'build'], dir);
      exec('pnpm', ['pack', '--pack-destination', tarballs], dir);
    }
    writeFileSync(path.join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    const files = readdirSync(tarballs).map((f) => path.join(tarballs, f));
    if (files.length !== dirs.length)
      throw new Error(`expected ${dirs.length} tarballs, found ${files.length}`);
    exec('npm', ['install', '--offline', '--no-audit', '--no-fund', ...files], app);
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
  return {
    dir: app,
    packages: names,
    runCjs: (code) => exec(process.execPath, ['-e', code], app),
    runEsm: (code) => exec(process.execPath, ['--input-type=module', '-e', code], app),
    typeErrors: (files, options = {}) => typeErrors(app, files, options),
    remove: () => rmSync(work, { recursive: true, force: true }),
  };
}

function typeErrors(
  app: string,
  files: Readonly<Record<string, string>>,
  options: TypeCheckOptions,
): string[] {
  const paths: string[] = [];
  for (const [name, source] of Object.entries(files)) {
    if (!/\.[mc]ts$/.test(name))
      throw new Error(`${name}: give .mts or .cts files, whose module kind is fixed`);
    const file = path.join(app, name);
    writeFileSync(file, source);
    paths.push(file);
  }
  const program = ts.createProgram(paths, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    typeRoots: [path.join(REPO, 'node_modules/@types')],
    types: [...(options.types ?? [])],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file === undefined || d.start === undefined) return message;
    const line = d.file.getLineAndCharacterOfPosition(d.start).line + 1;
    return `${path.relative(app, d.file.fileName)}:${line}: ${message}`;
  });
}

import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

/** One TypeScript code block of a README: its code and the README line its first code line is on. */
export interface ReadmeBlock {
  code: string;
  line: number;
}

/** The ```ts (or ```typescript) code blocks of a Markdown text, in order. */
export function typescriptBlocks(markdown: string): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    blocks.push({ code: lines.slice(start, end).join('\n'), line: start + 1 });
    i = end;
  }
  return blocks;
}

/**
 * Type-checks every TypeScript code block of `<packageDir>/README.md` as a module of its own, the way a user who
 * copies it into their project would compile it: strict, NodeNext modules, Node's types. The package's own name
 * resolves to its `src/index.ts` (so no build is needed), other packages through `node_modules` as usual.
 * @returns the errors as `README.md:<line>: <message>`; empty when every example compiles
 */
export function readmeTypeErrors(packageDir: string): string[] {
  const readme = path.join(packageDir, 'README.md');
  const blocks = typescriptBlocks(readFileSync(readme, 'utf8'));
  if (blocks.length === 0) return [];
  const name = (JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { name: string })
    .name;
  const selfEntry = path.join(packageDir, 'src', 'index.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
  };
  if (existsSync(selfEntry)) options.paths = { [name]: [selfEntry] };
  // `export {}` makes each block a module (top-level await, no globals shared between blocks); it is one line, so
  // a diagnostic on line L of the virtual file is on README line block.line + L - 2 (L is 1-based).
  const files = new Map(blocks.map((b, i) => [path.join(packageDir, `README.block${i}.mts`), b] as const));
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
  host.readFile = (file) => {
    const block = files.get(file);
    return block ? `export {};\n${block.code}` : readFile.call(host, file);
  };
  host.getSourceFile = (file, language, onError, create) => {
    const block = files.get(file);
    if (block) return ts.createSourceFile(file, `export {};\n${block.code}`, language, true);
    return getSourceFile.call(host, file, language, onError, create);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const errors: string[] = [];
  for (const [file, block] of files) {
    const source = program.getSourceFile(file)!;
    for (const d of ts.getPreEmitDiagnostics(program, source)) {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      const line = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line + 1;
      errors.push(`README.md:${block.line + line - 2}: ${message}`);
    }
  }
  return errors;
}

/** One row of a README's error table: `| \`ERR_...\` | \`Class\` | meaning |`. */
export interface ReadmeErrorRow {
  code: string;
  className: string;
  meaning: string;
  /** 1-based line in the README. */
  line: number;
}

/**
 * The rows of the error-code tables of a package's README: every table row whose first cell is a code in backticks
 * and whose second cell is the error class in backticks.
 */
export function readmeErrorRows(packageDir: string): ReadmeErrorRow[] {
  const lines = readFileSync(path.join(packageDir, 'README.md'), 'utf8').split('\n');
  const rows: ReadmeErrorRow[] = [];
  lines.forEach((text, i) => {
    const match = /^\|\s*`(ERR_[A-Z0-9_]+)`\s*\|\s*`([A-Za-z][A-Za-z0-9]*)`\s*\|(.*)\|\s*$/.exec(text);
    if (match) rows.push({ code: match[1]!, className: match[2]!, meaning: match[3]!.trim(), line: i + 1 });
  });
  return rows;
}

/**
 * What a container image asset would run, read from its staged Dockerfile
 * (final stage only): the ENV it sets, its ENTRYPOINT, and which files of the
 * build context it COPYs where. Local mode runs the entrypoint as a host
 * process with that env, so the runner starts exactly as in the Fargate task,
 * without Docker. Deliberately small: exec-form ENTRYPOINT, `COPY src dest`
 * from the build context, `ENV k=v …` and `${ARG}` substitution.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { splitCommand } from '../../core/runner-contract';

export interface ImageModel {
  /** ENV of the final stage, ARGs substituted. */
  env: Record<string, string>;
  /** Exec-form ENTRYPOINT. */
  entrypoint: string[];
  /** Exec-form CMD (a task's Command override replaces it). */
  cmd: string[];
  /** Absolute destination path in the image → absolute source path in the staged build context. */
  copies: Map<string, string>;
  volumes: string[];
}

/** Dockerfile lines with continuations joined and comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

function substitute(value: string, vars: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_m, braced: string, bare: string) => vars[braced ?? bare] ?? '',
  );
}

function execForm(args: string): string[] {
  const trimmed = args.trim();
  if (!trimmed.startsWith('[')) throw new Error(`Local mode runs only exec-form ENTRYPOINT/CMD (JSON arrays), got: ${trimmed}`);
  return JSON.parse(trimmed) as string[];
}

export function parseDockerfile(text: string, contextDir: string, buildArgs: Record<string, string> = {}): ImageModel {
  const args: Record<string, string> = {};
  let env: Record<string, string> = {};
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  let copies = new Map<string, string>();
  let volumes: string[] = [];
  let workdir = '/';
  for (const { op, args: rest } of instructions(text)) {
    switch (op) {
      case 'ARG': {
        const [name, ...value] = rest.split('=');
        args[name!] = buildArgs[name!] ?? (value.length ? value.join('=') : (args[name!] ?? ''));
        break;
      }
      case 'FROM':
        // A new stage starts from scratch (only the final stage matters here).
        env = {};
        entrypoint = [];
        cmd = [];
        copies = new Map();
        volumes = [];
        workdir = '/';
        break;
      case 'ENV': {
        const tokens = splitCommand(rest);
        if (tokens.length === 2 && !tokens[0]!.includes('=')) env[tokens[0]!] = substitute(tokens[1]!, { ...args, ...env });
        else
          for (const token of tokens) {
            const at = token.indexOf('=');
            if (at > 0) env[token.slice(0, at)] = substitute(token.slice(at + 1), { ...args, ...env });
          }
        break;
      }
      case 'WORKDIR':
        workdir = posix.resolve(workdir, substitute(rest, { ...args, ...env }));
        break;
      case 'COPY': {
        const tokens = splitCommand(rest);
        // Files from another stage are not in the build context.
        if (tokens.some((t) => t.startsWith('--from'))) break;
        const plain = tokens.filter((t) => !t.startsWith('--'));
        const dest = plain.pop();
        if (!dest) break;
        for (const src of plain) {
          const target = posix.resolve(workdir, dest.endsWith('/') ? posix.join(dest, posix.basename(src)) : dest);
          copies.set(target, isAbsolute(src) ? src : join(contextDir, src));
        }
        break;
      }
      case 'VOLUME':
        volumes = rest.trim().startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
        break;
      case 'ENTRYPOINT':
        entrypoint = execForm(rest);
        break;
      case 'CMD':
        cmd = execForm(rest);
        break;
      default:
        break;
    }
  }
  return { env, entrypoint, cmd, copies, volumes };
}

export function readImageModel(contextDir: string, buildArgs: Record<string, string> = {}, dockerfile = 'Dockerfile'): ImageModel {
  return parseDockerfile(readFileSync(join(contextDir, dockerfile), 'utf8'), contextDir, buildArgs);
}

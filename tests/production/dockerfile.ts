/**
 * Reads what a target of docker/Dockerfile runs: its working directory, ENV,
 * CMD and HEALTHCHECK command. The production-artifact test starts processes
 * from this, so the commands and variable names it runs are the images' own,
 * not a copy that could drift. Only the instructions and forms our Dockerfile
 * uses are understood (exec-form CMD and HEALTHCHECK, `ENV KEY=value ...`);
 * anything else for those is an error, not a guess.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface ImageTarget {
  workdir: string;
  env: Record<string, string>;
  cmd: string[];
  healthcheck: string[] | null;
}

export const DOCKERFILE = path.resolve(__dirname, '../../docker/Dockerfile');

/** Logical lines: comments dropped, `\` continuations joined. */
function instructions(text: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    out.push(pending + line);
    pending = '';
  }
  if (pending) out.push(pending);
  return out;
}

function execForm(what: string, json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`${what} must be an exec-form JSON array: ${json}`);
  return parsed;
}

export function readImageTarget(target: string, file = DOCKERFILE): ImageTarget {
  const stages = new Map<string, ImageTarget>();
  let current: ImageTarget | null = null;
  for (const line of instructions(readFileSync(file, 'utf8'))) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    switch (keyword.toUpperCase()) {
      case 'FROM': {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
        if (!m?.[1]) throw new Error(`cannot read ${line}`);
        const base = stages.get(m[1]);
        // A stage built on another inherits its settings; on an outside image it starts empty.
        current = base ? { ...base, env: { ...base.env } } : { workdir: '/', env: {}, cmd: [], healthcheck: null };
        if (m[2]) stages.set(m[2], current);
        break;
      }
      case 'WORKDIR':
        if (current) current.workdir = path.posix.resolve(current.workdir, args);
        break;
      case 'ENV':
        for (const pair of rest) {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new Error(`ENV must use KEY=value pairs: ${line}`);
          if (current) current.env[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        break;
      case 'CMD':
        if (current) current.cmd = execForm('CMD', args);
        break;
      case 'HEALTHCHECK': {
        const m = /\bCMD\s+(\[.*\])$/.exec(args);
        if (!m?.[1]) throw new Error(`HEALTHCHECK must be HEALTHCHECK [options] CMD [exec form]: ${line}`);
        if (current) current.healthcheck = execForm('HEALTHCHECK', m[1]);
        break;
      }
      default:
        break;
    }
  }
  const stage = stages.get(target);
  if (!stage) throw new Error(`${file} has no stage named ${target}`);
  return stage;
}

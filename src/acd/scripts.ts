import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type Redis from 'ioredis';

/**
 * The single loader of the ACD's Lua scripts (lua/*.lua). Each is registered with ioredis under `<name>:<version>`
 * (EVALSHA, falling back to EVAL after a script flush or a Redis restart), the version being a hash of its text so
 * that nodes running different builds never share a name for different code.
 */
const SCRIPT_VERSION_LENGTH = 8;

function luaDir(): string {
  // src/acd/lua under ts-node; dist/src/acd holds no .lua (tsc copies none), so look in the source tree beside dist.
  const candidates = [path.join(__dirname, 'lua'), path.resolve(__dirname, '../../../src/acd/lua')];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'commitChange.lua')));
  if (found === undefined) throw new Error(`ACD Lua scripts not found in ${candidates.join(' or ')}`);
  return found;
}

type Script = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

/** Each takes KEYS and ARGV as its lua/<name>.lua file describes them, and returns its reply. */
export interface AcdScripts {
  commitChange: Script;
  joinNode: Script;
  renewLease: Script;
  releaseNode: Script;
}

export function loadScripts(redis: Redis): AcdScripts {
  const dir = luaDir();
  const load = (file: keyof AcdScripts): Script => {
    const lua = readFileSync(path.join(dir, `${file}.lua`), 'utf8');
    const name = `${file}:${createHash('sha1').update(lua).digest('hex').slice(0, SCRIPT_VERSION_LENGTH)}`;
    redis.defineCommand(name, { lua });
    const command = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>)[name]!.bind(redis);
    return (keys, args) => command(keys.length, ...keys, ...args);
  };
  return { commitChange: load('commitChange'), joinNode: load('joinNode'), renewLease: load('renewLease'), releaseNode: load('releaseNode') };
}

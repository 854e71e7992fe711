#!/usr/bin/env node
import { ConfigError, loadConfig } from '../config/index';
import { Credentials } from './credentials';

const USAGE = `usage: npm run token -- (--agent ID | --supervisor NAME) [--hours N] [--config FILE]

Prints a token for the agent feed (ws://<http>/agent), signed with agents.tokenSecret of the configuration
(config/default.yaml, then FILE, then ONECC_* variables). An agent must be in agents.roster. Default: 12 hours.
`;

function main(argv: string[]): void {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i]!, argv[i + 1]];
    if (!['--agent', '--supervisor', '--hours', '--config'].includes(name) || value === undefined) fail(`unknown or incomplete argument: ${name}`);
    args.set(name.slice(2), value);
  }
  const agent = args.get('agent');
  const supervisor = args.get('supervisor');
  if ((agent === undefined) === (supervisor === undefined)) fail('give --agent or --supervisor');
  const hours = Number(args.get('hours') ?? 12);
  if (!(hours > 0 && hours <= 24 * 366)) fail('--hours must be a positive number of hours (at most a year)');
  let config;
  try {
    const file = args.get('config');
    config = loadConfig(file === undefined ? {} : { file });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  try {
    const token = new Credentials(config.agents).issue(agent !== undefined ? 'agent' : 'supervisor', (agent ?? supervisor)!, Math.round(hours * 3600));
    process.stdout.write(`${token}\n`);
  } catch (err) {
    fail((err as Error).message);
  }
}

function fail(message: string): never {
  process.stderr.write(`token: ${message}\n${USAGE}`);
  process.exit(2);
}

main(process.argv.slice(2));

// Browser tests run in a network namespace of their own that holds only loopback: Chrome gathers ICE candidates on
// every interface it sees, and rtpengine would then send media to a non-loopback address. The test file is run again
// inside `unshare -n` (as root; otherwise in a user namespace, `unshare -rn`), with everything it talks to
// (rtpengine, the page server, Chromium) started there.
import { spawnSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import type { Test } from 'tap';

const MARK = 'ONECC_LOOPBACK_NETNS';

const root = process.getuid?.() === 0;

function unshareFlags(): string[] | undefined {
  const candidates = root ? [['-n'], ['-rn']] : [['-rn']];
  return candidates.find((flags) => spawnSync('unshare', [...flags, 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0);
}

/**
 * True inside the namespace: the caller then defines its tests. Otherwise runs `file` (the calling test file)
 * there as a subtest of `t` and returns false. When no namespace can be made, the file is skipped, saying why,
 * if not root (user namespaces disabled); as root (CI) that is a failure, so that CI never skips it silently.
 */
export function insideLoopbackNamespace(t: Test, file: string): boolean {
  if (process.env[MARK] === '1') {
    const others = Object.keys(networkInterfaces()).filter((name) => name !== 'lo');
    if (others.length > 0) throw new Error(`${MARK} is set but this network namespace has interfaces besides lo: ${others.join(', ')}`);
    return true;
  }
  const flags = unshareFlags();
  if (flags === undefined) {
    if (root) t.fail('as root, could not make a network namespace (`unshare -n true` and `unshare -rn true` failed): a container without CAP_SYS_ADMIN?');
    else t.plan(0, 'needs a loopback-only network namespace: run as root, or enable unprivileged user namespaces (unshare -rn)');
    return false;
  }
  // `ip` brings lo up (a new namespace starts with it down); exec keeps the test process the namespace's main one.
  const args = [...flags, '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, ...process.execArgv, file];
  void t.spawn('unshare', args, { env: { ...process.env, [MARK]: '1' } }, `${file} in a loopback-only network namespace`);
  return false;
}

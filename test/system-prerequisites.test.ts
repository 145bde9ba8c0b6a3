// scripts/system-prerequisites.sh, the one script that installs what the demo and the tests need
// from the system (npm's predemo/pretest and .ci/run call it). Run for real with bash, against a
// scratch directory standing for the machine: the tools it holds are "installed", and its apt-get
// records how it was called and "installs" what the test says it provides. Nothing touches the
// real system.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/agent.ts';

const SCRIPT = join(ROOT, 'scripts', 'system-prerequisites.sh');
const DEMO_TOOLS = ['ip', 'tc', 'nft', 'dnsmasq'];
const TEST_TOOLS = [...DEMO_TOOLS, 'openssl', 'chromium', 'promtool', 'prometheus', 'postgres', 'initdb', 'unzip'];
const DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n';
const UBUNTU = 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n';
const FEDORA = 'NAME="Fedora Linux"\nID=fedora\n';

interface Machine {
  /** Tools present before the script runs (apt-get is added unless `apt: false`). */
  readonly tools: readonly string[];
  readonly osRelease: string;
  /** Tools the fake apt-get creates when asked to install; undefined: no apt-get at all. */
  readonly aptInstalls?: readonly string[];
  readonly asUser?: boolean;
}

interface Outcome {
  readonly code: number | null;
  readonly stderr: string;
  /** Each apt-get call's arguments, one line each. */
  readonly apt: string[];
}

function runScript(t: TestContext, machine: Machine, args: string[]): Outcome {
  const dir = mkdtempSync(join(tmpdir(), 'netready-prereq-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755); // readable by the unprivileged user of the "not root" case
  const stub = (name: string, body = 'exit 0') => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  for (const tool of machine.tools) stub(tool);
  if (machine.aptInstalls) {
    const creates = machine.aptInstalls.map(
      (tool) => `printf '#!/bin/sh\\n' > ${dir}/${tool}; chmod 755 ${dir}/${tool}`,
    );
    stub('apt-get', [`echo "$*" >> ${dir}/apt.log`, 'case "$1" in install)', ...creates, ';; esac'].join('\n'));
  }
  writeFileSync(join(dir, 'os-release'), machine.osRelease);
  const env = {
    PATH: `${dir}:/usr/bin:/bin`,
    NETREADY_SETUP_PATH: dir,
    NETREADY_SETUP_OS_RELEASE: join(dir, 'os-release'),
  };
  const command = machine.asUser
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'bash', SCRIPT, ...args]
    : ['bash', SCRIPT, ...args];
  const r = spawnSync(command[0]!, command.slice(1), { env, encoding: 'utf8', timeout: 30_000 });
  const log = join(dir, 'apt.log');
  return { code: r.status, stderr: r.stderr, apt: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] };
}

test('everything present, as root: exit 0, nothing said, nothing installed', (t) => {
  const r = runScript(t, { tools: TEST_TOOLS, osRelease: DEBIAN, aptInstalls: [] }, ['test']);
  assert.deepEqual(r, { code: 0, stderr: '', apt: [] });
});

test('root on Debian: installs exactly the missing packages, saying what each tool is for', (t) => {
  const missing = ['dnsmasq', 'chromium', 'postgres', 'initdb'];
  const r = runScript(
    t,
    { tools: TEST_TOOLS.filter((x) => !missing.includes(x)), osRelease: DEBIAN, aptInstalls: missing },
    ['test'],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.apt, [
    'update -qq',
    'install -y -qq --no-install-recommends dnsmasq-base chromium fonts-dejavu-core postgresql',
  ]);
  assert.match(r.stderr, /installing with apt-get what this machine lacks/);
  assert.match(r.stderr, /- dnsmasq \(DNS inside the simulated pod network/);
  assert.match(r.stderr, /- chromium \(the dashboard tests in headless Chromium\)/);
  assert.match(r.stderr, /- initdb \(/);
  assert.match(r.stderr, /system prerequisites installed/);
});

test('the demo asks only for what the demo needs', (t) => {
  const r = runScript(t, { tools: [], osRelease: UBUNTU, aptInstalls: DEMO_TOOLS }, ['demo']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.apt, ['update -qq', 'install -y -qq --no-install-recommends iproute2 nftables dnsmasq-base']);
});

test('a package that does not bring its tool: exit 1 naming it, not a half-run', (t) => {
  const r = runScript(t, { tools: TEST_TOOLS.filter((x) => x !== 'chromium'), osRelease: UBUNTU, aptInstalls: [] }, [
    'test',
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /still missing after apt-get install: chromium \(package chromium fonts-dejavu-core\)/);
});

test('not Debian-like: exit 1, lists what is missing and the Debian package names, runs no apt-get', (t) => {
  const r = runScript(t, { tools: ['ip', 'tc'], osRelease: FEDORA, aptInstalls: DEMO_TOOLS }, ['demo']);
  assert.equal(r.code, 1);
  assert.deepEqual(r.apt, []);
  assert.match(
    r.stderr,
    /missing from this machine:\n {2}- nft \(the simulated dataplane rule[^\n]*\n {2}- dnsmasq \(/,
  );
  assert.match(r.stderr, /This is not Debian or Ubuntu \(no apt-get\)/);
  assert.match(r.stderr, /Debian package names are: nftables dnsmasq-base\)/);
});

test('not root: exit 1 with the sudo command and what sudo would install, runs no apt-get', (t) => {
  const r = runScript(
    t,
    { tools: TEST_TOOLS.filter((x) => x !== 'promtool'), osRelease: DEBIAN, aptInstalls: TEST_TOOLS, asUser: true },
    ['test'],
  );
  assert.equal(r.code, 1);
  assert.deepEqual(r.apt, []);
  assert.match(
    r.stderr,
    /^netready test: needs root \(network namespaces and nftables\); run it with sudo: sudo npm test$/m,
  );
  assert.match(r.stderr, /Also missing:\n {2}- promtool \(/);
  assert.match(r.stderr, /sudo installs them \(apt-get install prometheus\)/);
});

test('--check never installs; a bad argument is a usage error', (t) => {
  const r = runScript(t, { tools: [], osRelease: DEBIAN, aptInstalls: DEMO_TOOLS }, ['demo', '--check']);
  assert.equal(r.code, 1);
  assert.deepEqual(r.apt, []);
  assert.match(r.stderr, /Install them: apt-get install --no-install-recommends iproute2 nftables dnsmasq-base/);
  assert.equal(runScript(t, { tools: [], osRelease: DEBIAN }, ['lint']).code, 2);
});

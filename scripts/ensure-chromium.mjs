// Make sure Debian's `chromium` is there for the HTML report's browser test (test/report-html.test.ts),
// which drives it with playwright-core (no browser download: playwright's own builds need the network).
// Found: nothing to do. Missing, as root with apt-get: installs it. Otherwise: a loud warning, and the
// browser test skips itself, saying why. Never fails the run: the rest of the suite does not need it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';

export const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The Chromium binary: $RECOGNITE_CHROMIUM when set (and only it), else the first of CHROMIUM_PATHS found; or null. */
export function findChromium() {
  const candidates = process.env.RECOGNITE_CHROMIUM ? [process.env.RECOGNITE_CHROMIUM] : CHROMIUM_PATHS;
  return candidates.find((p) => existsSync(p)) ?? null;
}

function onPath(cmd) {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(`${dir}/${cmd}`));
}

function loud(lines) {
  const bar = '!'.repeat(78);
  console.error(['', bar, ...lines.map((l) => `!! ${l}`), bar, ''].join('\n'));
}

/** apt's package lists are empty on a fresh container: update them once before installing. */
function aptListsEmpty() {
  const dir = '/var/lib/apt/lists';
  try {
    return !readdirSync(dir).some((f) => f.endsWith('_Packages') && statSync(`${dir}/${f}`).size > 0);
  } catch {
    return true;
  }
}

function install() {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => execFileSync('apt-get', args, { stdio: 'inherit', env });
  if (aptListsEmpty()) run(['update']);
  try {
    run(['install', '-y', '--no-install-recommends', 'chromium']);
  } catch {
    run(['update']); // stale lists name versions the mirror no longer has
    run(['install', '-y', '--no-install-recommends', 'chromium']);
  }
}

function main() {
  const found = findChromium();
  if (found) {
    console.log(`chromium: ${found}`);
    return;
  }
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && onPath('apt-get')) {
    console.log("chromium: not found; installing Debian's chromium for the HTML report test (apt-get) …");
    try {
      install();
    } catch (err) {
      console.error(`chromium: apt-get failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const now = findChromium();
    if (now) {
      console.log(`chromium: installed at ${now}`);
      return;
    }
  }
  loud([
    'CHROMIUM IS MISSING: the HTML report will NOT be checked in a browser.',
    'test/report-html.test.ts skips its Chromium test (the report is still written and checked as text).',
    'Install it, then run npm test again:',
    '  Debian/Ubuntu:  sudo apt-get install -y --no-install-recommends chromium',
    '  elsewhere:      install Chromium and set RECOGNITE_CHROMIUM=/path/to/chromium',
    root ? 'apt-get was not available or failed (see above).' : 'This script installs it only when run as root.',
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) main();

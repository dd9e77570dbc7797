#!/usr/bin/env node
// Build the optional shared-memory add-on (native/shm_native.c) with node-gyp.
// Never fails: without a C compiler or Node's headers the SDK uses its file I/O path,
// which works everywhere, only slower for big tensors. Skips the build when the
// compiled add-on matches the current source (a hash stamp beside it).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from './python-env.mjs';

const log = (msg) => process.stderr.write(`[native] ${msg}\n`);
const addon = join(PACKAGE_ROOT, 'build', 'Release', 'shm_native.node');
const stampFile = `${addon}.stamp`;

function sourceHash() {
  const h = createHash('sha256');
  for (const f of ['native/shm_native.c', 'binding.gyp']) h.update(readFileSync(join(PACKAGE_ROOT, f)));
  return h.update(process.version).digest('hex');
}

/** node-gyp: the pinned dev dependency, else the copy npm runs lifecycle scripts with. */
function nodeGyp() {
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return process.env.npm_config_node_gyp;
  }
}

/** Node's headers on this machine (no download: the network may be closed). */
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function build() {
  const hash = sourceHash();
  if (existsSync(addon) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash) return;
  const gyp = nodeGyp();
  const dir = nodeDir();
  if (!gyp || !dir) {
    log(`skipped (${!gyp ? 'node-gyp not found' : "Node's headers not found"}): using file I/O for shared memory`);
    return;
  }
  const res = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${dir}`], {
    cwd: PACKAGE_ROOT,
    encoding: 'utf8',
  });
  if (res.status !== 0 || !existsSync(addon)) {
    const why = (res.stderr || res.error?.message || '').trim().split('\n').slice(-3).join(' | ');
    log(`not built (${why}); using file I/O for shared memory`);
    return;
  }
  writeFileSync(stampFile, hash);
  log('built the shared-memory add-on');
}

build();

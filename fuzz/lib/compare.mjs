// Trace comparison with the spec's NaN rules.
//
// Scalars: two floats are equal when both are NaN (the spec lets NaN payloads and signs vary: results of
// arithmetic on NaNs are arithmetic NaNs with any payload, canonical inputs give canonical NaNs of either
// sign; JS sees all of them as NaN anyway) or when they are the same number (0 and -0 differ).
// Memory: hashes are compared; when they differ, the caller re-runs with a dump and calls memoryDiff(),
// which accepts differing bytes only where both sides hold a NaN of the same width at the same place.

export function sameScalar(a, b) {
  if (a === b) return true;
  if (a === 'nan' && b === 'nan') return true;
  return false;
}

function sameValues(a, b) {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameScalar(a[i], b[i])) return false;
  return true;
}

function sameGlobal(a, b) {
  if (a === b) return true;
  return a === 'num:nan' && b === 'num:nan';
}

/**
 * Compare two traces (expected = oracle, actual = Quickbeam). Returns a list of differences:
 * [{ at (event index), callIndex, what: 'result'|'trap'|'memory'|'global'|'table'|'import'|..., expected, actual }].
 * Memory hash differences are reported with what 'memory-hash' (to be checked with memoryDiff).
 * After both sides overflow the stack, the rest of that call's events and the state are not compared
 * (the depth at which an engine runs out of stack is implementation-defined).
 */
export function compareTraces(expected, actual) {
  const diffs = [];
  let i = 0, j = 0, callIndex = -1;
  const push = (what, e, a) => diffs.push({ at: i, callIndex, what, expected: e, actual: a });
  // Group events per call so that import logs after a stack overflow can be skipped.
  const groups = (t) => {
    const out = [[]];
    for (const ev of t) {
      if (ev.ev === 'call') out.push([ev]);
      else out[out.length - 1].push(ev);
    }
    return out;
  };
  const ge = groups(expected), ga = groups(actual);
  if (ge.length !== ga.length) push('call-count', ge.length - 1, ga.length - 1);
  const n = Math.min(ge.length, ga.length);
  for (let g = 0; g < n; g++) {
    callIndex = g - 1;
    const E = ge[g], A = ga[g];
    const outcome = (evs) => evs.find((e) => e.ev === 'result' || e.ev === 'trap' || e.ev === 'throw' || e.ev === 'instantiate' || e.ev === 'compile');
    const oe = outcome(E), oa = outcome(A);
    const bothOverflow = oe?.ev === 'trap' && oe.kind === 'stack-overflow' && oa?.ev === 'trap' && oa.kind === 'stack-overflow';
    if (bothOverflow) return diffs; // nothing after a stack overflow is comparable (state depends on the depth)
    // Outcome
    if (!oe || !oa) {
      if (oe !== oa) push('outcome', oe ?? null, oa ?? null);
    } else if (oe.ev !== oa.ev) {
      push('outcome', oe, oa);
    } else if (oe.ev === 'result') {
      if (!sameValues(oe.values, oa.values)) push('result', oe.values, oa.values);
    } else if (oe.ev === 'trap') {
      if (oe.kind !== oa.kind) push('trap', oe.kind + ' (' + oe.msg + ')', oa.kind + ' (' + oa.msg + ')');
    } else if (oe.ev === 'throw') {
      if (oe.name !== oa.name) push('throw', oe.name + ': ' + oe.msg, oa.name + ': ' + oa.msg);
    } else if (oe.ev === 'instantiate') {
      if (oe.ok !== oa.ok || (!oe.ok && oe.error !== oa.error)) push('instantiate', oe.ok ? 'ok' : `${oe.error}: ${oe.msg}`, oa.ok ? 'ok' : `${oa.error}: ${oa.msg}`);
    }
    // Imports (logged calls) in order
    const ie = E.filter((e) => e.ev === 'import'), ia = A.filter((e) => e.ev === 'import');
    const k = Math.min(ie.length, ia.length);
    for (let x = 0; x < k; x++) {
      if (ie[x].name !== ia[x].name || !sameValues(ie[x].args, ia[x].args)) {
        push('import', `#${x} ${ie[x].name}(${ie[x].args.join(', ')})`, `#${x} ${ia[x].name}(${ia[x].args.join(', ')})`);
        break;
      }
    }
    if (ie.length !== ia.length) push('import-count', ie.length, ia.length);
    const te = E.find((e) => e.ev === 'imports-truncated'), ta = A.find((e) => e.ev === 'imports-truncated');
    if ((te?.count ?? 0) !== (ta?.count ?? 0)) push('import-count', te?.count ?? ie.length, ta?.count ?? ia.length);
    // State
    const se = E.find((e) => e.ev === 'state'), sa = A.find((e) => e.ev === 'state');
    if (se && sa) {
      const byName = (xs) => new Map(xs.map((x) => [x.name, x]));
      const me = byName(se.memories), ma = byName(sa.memories);
      for (const [name, x] of me) {
        const y = ma.get(name);
        if (!y) { push('memory', name, 'missing'); continue; }
        if (x.pages !== y.pages) push('memory-size', `${name}: ${x.pages} pages`, `${name}: ${y.pages} pages`);
        else if (x.hash !== y.hash && !(x.masked && x.masked === y.masked)) diffs.push({ at: i, callIndex, what: 'memory-hash', memory: name, expected: x.hash, actual: y.hash });
      }
      const gle = byName(se.globals), gla = byName(sa.globals);
      for (const [name, x] of gle) {
        const y = gla.get(name);
        if (!y || !sameGlobal(x.value, y.value)) push('global', `${name} = ${x.value}`, `${name} = ${y?.value}`);
      }
      const tbe = byName(se.tables), tba = byName(sa.tables);
      for (const [name, x] of tbe) {
        const y = tba.get(name);
        if (!y || x.length !== y.length || x.hash !== y.hash) push('table', `${name}: ${x.length}`, `${name}: ${y?.length}`);
      }
    } else if (se || sa) push('state', !!se, !!sa);
    i++;
    j++;
  }
  void j;
  return diffs;
}

function isNaN32(u8, p) {
  if (p < 0 || p + 4 > u8.length) return false;
  const bits = (u8[p] | (u8[p + 1] << 8) | (u8[p + 2] << 16) | (u8[p + 3] << 24)) >>> 0;
  return (bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0;
}

function isNaN64(u8, p) {
  if (p < 0 || p + 8 > u8.length) return false;
  const hi = (u8[p + 4] | (u8[p + 5] << 8) | (u8[p + 6] << 16) | (u8[p + 7] << 24)) >>> 0;
  const lo = (u8[p] | (u8[p + 1] << 8) | (u8[p + 2] << 16) | (u8[p + 3] << 24)) >>> 0;
  return (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0x000fffff) !== 0 || lo !== 0);
}

/**
 * Differences between two memory images that NaN nondeterminism cannot explain. A differing byte is
 * explained when some 4-byte (8-byte) window containing it holds an f32 (f64) NaN on both sides.
 * Returns { unexplained: [offsets...] (at most 16), explained: count, differing: count }.
 */
export function memoryDiff(a, b) {
  const unexplained = [];
  let explained = 0, differing = 0;
  if (a.length !== b.length) return { unexplained: [-1], explained: 0, differing: Math.abs(a.length - b.length), sizeDiffers: true };
  for (let p = 0; p < a.length; p++) {
    if (a[p] === b[p]) continue;
    differing++;
    let ok = false;
    for (let s = p - 3; s <= p && !ok; s++) if (isNaN32(a, s) && isNaN32(b, s)) ok = true;
    for (let s = p - 7; s <= p && !ok; s++) if (isNaN64(a, s) && isNaN64(b, s)) ok = true;
    if (ok) explained++;
    else if (unexplained.length < 16) unexplained.push(p);
  }
  return { unexplained, explained, differing };
}

/** A one-line description of a difference list. */
export function describeDiffs(diffs, max = 3) {
  return diffs.slice(0, max).map((d) => {
    const where = d.callIndex >= 0 ? `call #${d.callIndex}` : 'setup';
    const fmt = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
    return `${where} ${d.what}${d.memory ? ' ' + d.memory : ''}: expected ${fmt(d.expected)}, got ${fmt(d.actual)}`;
  }).join('; ') + (diffs.length > max ? ` (+${diffs.length - max} more)` : '');
}

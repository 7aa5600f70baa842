// Tests of the native runtime layer (src/runtime): entry trampoline, traps and unwinding, stack exhaustion,
// host calls, nesting, linear memory, tables.
//
// Everything that runs machine code runs in a child process (this same file with QB_RT_FIXTURE set), so that
// a crash fails the test instead of killing the test runner. The machine code is hand-assembled here and
// follows the calling convention of docs/ARCHITECTURE.md.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { Assembler } from '../src/x64/assembler.js';
import { AluOp, Cond, LoadKind, R11, R12, R13, R14, R15, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP } from '../src/x64/registers.js';
import { RuntimeError } from '../src/errors.js';
import { allocateCode, codeMemoryMapped } from '../src/runtime/code-memory.js';
import { readFileSync } from 'node:fs';
import { argsI32, argsI64, execStateAddr, savedRsp } from '../src/runtime/exec-state.js';
import { registerHostHandler, unregisterHostHandler } from '../src/runtime/host-calls.js';
import {
  EXEC_ARGS, EXEC_STACK_LIMIT, MEMDESC_LENGTH, VMCTX_MEMORIES, TrapCode, VMCTX_HOSTCALL, VMCTX_TRAP_HANDLER, WASM_PAGE_SIZE,
  computeVmctxLayout,
} from '../src/runtime/layout.js';
import { LinearMemory } from '../src/runtime/linear-memory.js';
import { koffi, nativeAlloc, readPtr, readU64, writePtr } from '../src/runtime/native.js';
import { TableStorage, TableElem } from '../src/runtime/table-storage.js';
import {
  callWasm, callWasm3, enterAddr, initVmctxHeader, setTraceSymbolizer, stackBudget, trapHandlerAddr,
} from '../src/runtime/trampolines.js';

const SELF = fileURLToPath(import.meta.url);
const TWO32 = 4294967296;

// ---------------------------------------------------------------------------------------------------
// Hand-assembled test code

function movAddr(a: Assembler, reg: number, addr: number): void {
  a.movImm64(reg, addr % TWO32 >>> 0, Math.floor(addr / TWO32) >>> 0);
}

interface TestCode {
  addr: (name: string) => number;
  start: number;
  end: number;
  offsets: Map<string, number>;
}

function buildTestCode(): TestCode {
  const a = new Assembler();
  const labels = new Map<string, number>();
  const L = (n: string): number => {
    let l = labels.get(n);
    if (l === undefined) {
      l = a.newLabel();
      labels.set(n, l);
    }
    return l;
  };
  const E = execStateAddr;

  // Module trap stubs: mov edi, K; jmp [r14+16]. `trap_generic` expects edi already set.
  const stubs: Array<[string, number]> = [
    ['trap_unreachable', TrapCode.Unreachable],
    ['trap_stack', TrapCode.StackOverflow],
    ['trap_oob', TrapCode.MemoryOutOfBounds],
  ];
  for (const [name, code] of stubs) {
    a.align(16, 0xcc);
    a.bind(L(name));
    a.movImm32(RDI, code);
    a.jmpMem(R14, VMCTX_TRAP_HANDLER);
  }
  a.align(16, 0xcc);
  a.bind(L('trap_generic'));
  a.jmpMem(R14, VMCTX_TRAP_HANDLER);

  // Entry stub: copy 4 argument slots to the outgoing area, call rdx, store rax to slot 0.
  a.align(16, 0xcc);
  a.bind(L('stub'));
  a.push(RBP);
  a.movRR(true, RBP, RSP);
  a.aluImm(AluOp.SUB, true, RSP, 32);
  movAddr(a, R11, E);
  for (let k = 0; k < 4; k++) {
    a.load(LoadKind.I64, RAX, R11, -1, 1, EXEC_ARGS + 8 * k);
    a.store(8, RAX, RSP, -1, 1, 8 * k);
  }
  a.callReg(RDX);
  movAddr(a, R11, E);
  a.store(8, RAX, R11, -1, 1, EXEC_ARGS);
  a.movRR(true, RSP, RBP);
  a.pop(RBP);
  a.ret();

  const prologue = (frame: number, ool: number): void => {
    a.push(RBP);
    a.movRR(true, RBP, RSP);
    a.aluImm(AluOp.SUB, true, RSP, frame);
    a.store(8, R14, RBP, -1, 1, -8);
    a.load(LoadKind.I64, R11, R14, -1, 1, 0);
    a.aluLoad(AluOp.CMP, true, RSP, R11, -1, 1, EXEC_STACK_LIMIT);
    a.jcc(Cond.B, ool);
  };
  const epilogue = (): void => {
    a.movRR(true, RSP, RBP);
    a.pop(RBP);
    a.ret();
  };
  const stackOol = (ool: number): void => {
    a.bind(ool);
    a.call(L('trap_stack'));
  };

  // add(a, b) -> a + b (i64)
  {
    a.align(16, 0xcc);
    a.bind(L('add'));
    const ool = a.newLabel();
    prologue(16, ool);
    a.load(LoadKind.I64, RAX, RBP, -1, 1, 16);
    a.aluLoad(AluOp.ADD, true, RAX, RBP, -1, 1, 24);
    epilogue();
    stackOol(ool);
  }

  // trivial() -> 42, no frame
  a.align(16, 0xcc);
  a.bind(L('trivial'));
  a.movImm32(RAX, 42);
  a.ret();

  // clobber_trap(): trash every callee-saved register except rbp/r14, then trap (unreachable).
  {
    a.align(16, 0xcc);
    a.bind(L('clobber_trap'));
    const ool = a.newLabel();
    prologue(16, ool);
    for (const r of [RBX, R12, R13, R15]) a.movImm64(r, 0xdeadbeef | 0, 0x0badf00d);
    a.pushImm(0x1234);
    a.pushImm(0x5678);
    a.call(L('trap_unreachable'));
    stackOol(ool);
  }

  // rec(n) -> n, by recursion (rec(n) = rec(n - 1) + 1), 16-byte frames + 16 for rbp/return.
  {
    a.align(16, 0xcc);
    a.bind(L('rec'));
    const ool = a.newLabel();
    const zero = a.newLabel();
    prologue(16, ool);
    a.load(LoadKind.I64, RAX, RBP, -1, 1, 16);
    a.test(true, RAX, RAX);
    a.jcc(Cond.E, zero);
    a.aluImm(AluOp.SUB, true, RAX, 1);
    a.store(8, RAX, RSP, -1, 1, 0);
    a.call(L('rec'));
    a.load(LoadKind.I64, R14, RBP, -1, 1, -8);
    a.aluImm(AluOp.ADD, true, RAX, 1);
    epilogue();
    a.bind(zero);
    a.alu(AluOp.XOR, false, RAX, RAX);
    epilogue();
    stackOol(ool);
  }

  // host(x, id): args[0] = x; hostcall(vmctx, id); trap on a non-zero result; return args[0].
  {
    a.align(16, 0xcc);
    a.bind(L('host'));
    const ool = a.newLabel();
    const fail = a.newLabel();
    prologue(16, ool);
    a.load(LoadKind.I64, R11, R14, -1, 1, 0);
    a.load(LoadKind.I64, RAX, RBP, -1, 1, 16);
    a.store(8, RAX, R11, -1, 1, EXEC_ARGS);
    a.movRR(true, RDI, R14);
    a.load(LoadKind.U32, RSI, RBP, -1, 1, 24);
    a.callMem(R14, VMCTX_HOSTCALL);
    a.load(LoadKind.I64, R14, RBP, -1, 1, -8);
    a.test(false, RAX, RAX);
    a.jcc(Cond.NE, fail);
    a.load(LoadKind.I64, R11, R14, -1, 1, 0);
    a.load(LoadKind.I64, RAX, R11, -1, 1, EXEC_ARGS);
    epilogue();
    a.bind(fail);
    a.movRR(false, RDI, RAX);
    a.call(L('trap_generic'));
    stackOol(ool);
  }

  // f3 -> f2 -> f1 -> unreachable (for backtraces)
  {
    a.align(16, 0xcc);
    a.bind(L('f1'));
    const ool1 = a.newLabel();
    prologue(16, ool1);
    a.call(L('trap_unreachable'));
    stackOol(ool1);
    for (const [name, callee] of [['f2', 'f1'], ['f3', 'f2']] as const) {
      a.align(16, 0xcc);
      a.bind(L(name));
      const ool = a.newLabel();
      prologue(16, ool);
      a.call(L(callee));
      a.load(LoadKind.I64, R14, RBP, -1, 1, -8);
      epilogue();
      stackOol(ool);
    }
  }

  // load32(addr) / store32(addr, v) on memory 0 (vmctx +32 base, +40 desc), bounds-checked.
  {
    a.align(16, 0xcc);
    a.bind(L('load32'));
    const ool = a.newLabel();
    const oob = a.newLabel();
    prologue(16, ool);
    a.load(LoadKind.I64, RAX, RBP, -1, 1, 16);
    a.lea(true, RCX, RAX, -1, 1, 4);
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_MEMORIES + 8);
    a.aluLoad(AluOp.CMP, true, RCX, R11, -1, 1, MEMDESC_LENGTH);
    a.jcc(Cond.A, oob);
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_MEMORIES);
    a.load(LoadKind.U32, RAX, R11, RAX, 1, 0);
    epilogue();
    a.bind(oob);
    a.call(L('trap_oob'));
    stackOol(ool);

    a.align(16, 0xcc);
    a.bind(L('store32'));
    const ool2 = a.newLabel();
    const oob2 = a.newLabel();
    prologue(16, ool2);
    a.load(LoadKind.I64, RAX, RBP, -1, 1, 16);
    a.lea(true, RCX, RAX, -1, 1, 4);
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_MEMORIES + 8);
    a.aluLoad(AluOp.CMP, true, RCX, R11, -1, 1, MEMDESC_LENGTH);
    a.jcc(Cond.A, oob2);
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_MEMORIES);
    a.load(LoadKind.I64, RCX, RBP, -1, 1, 24);
    a.store(4, RCX, R11, RAX, 1, 0);
    a.alu(AluOp.XOR, false, RAX, RAX);
    epilogue();
    a.bind(oob2);
    a.call(L('trap_oob'));
    stackOol(ool2);
  }

  // rech(n): like rec, but calls host id 14 at every level before recursing (host calls near the limit).
  {
    a.align(16, 0xcc);
    a.bind(L('rech'));
    const ool = a.newLabel();
    const zero = a.newLabel();
    const fail = a.newLabel();
    prologue(16, ool);
    a.movRR(true, RDI, R14);
    a.movImm32(RSI, 14);
    a.callMem(R14, VMCTX_HOSTCALL);
    a.load(LoadKind.I64, R14, RBP, -1, 1, -8);
    a.test(false, RAX, RAX);
    a.jcc(Cond.NE, fail);
    a.load(LoadKind.I64, RAX, RBP, -1, 1, 16);
    a.test(true, RAX, RAX);
    a.jcc(Cond.E, zero);
    a.aluImm(AluOp.SUB, true, RAX, 1);
    a.store(8, RAX, RSP, -1, 1, 0);
    a.call(L('rech'));
    a.load(LoadKind.I64, R14, RBP, -1, 1, -8);
    a.aluImm(AluOp.ADD, true, RAX, 1);
    epilogue();
    a.bind(zero);
    a.alu(AluOp.XOR, false, RAX, RAX);
    epilogue();
    a.bind(fail);
    a.movRR(false, RDI, RAX);
    a.call(L('trap_generic'));
    stackOol(ool);
  }

  // probe(enter, vmctx, stub, code) (SysV): sets all callee-saved registers to known values, calls
  // enter(vmctx, stub, code), and returns the result | 0x100 when every callee-saved register survived.
  {
    a.align(16, 0xcc);
    a.bind(L('probe'));
    a.push(RBP);
    a.push(RBX);
    a.push(R12);
    a.push(R13);
    a.push(R14);
    a.push(R15);
    a.aluImm(AluOp.SUB, true, RSP, 8);
    const regs = [RBX, RBP, R12, R13, R14, R15];
    regs.forEach((r, i) => a.movImm64(r, 0x11111111 * (i + 1), 0x7000 + i));
    a.movRR(true, RAX, RDI);
    a.movRR(true, RDI, RSI);
    a.movRR(true, RSI, RDX);
    a.movRR(true, RDX, RCX);
    a.callReg(RAX);
    // rcx = 0x100 if all registers match
    a.movImm32(RCX, 0x100);
    const bad = a.newLabel();
    const done = a.newLabel();
    regs.forEach((r, i) => {
      a.movImm64(R11, 0x11111111 * (i + 1), 0x7000 + i);
      a.alu(AluOp.CMP, true, r, R11);
      a.jcc(Cond.NE, bad);
    });
    a.jmp(done);
    a.bind(bad);
    a.alu(AluOp.XOR, false, RCX, RCX);
    a.bind(done);
    a.alu(AluOp.OR, false, RAX, RCX);
    a.aluImm(AluOp.ADD, true, RSP, 8);
    a.pop(R15);
    a.pop(R14);
    a.pop(R13);
    a.pop(R12);
    a.pop(RBX);
    a.pop(RBP);
    a.ret();
  }

  a.finish();
  const bytes = a.bytes();
  const block = allocateCode(bytes);
  const offsets = new Map<string, number>();
  for (const [name, l] of labels) offsets.set(name, a.labelOffset(l));
  return {
    addr: (name: string) => {
      const o = offsets.get(name);
      if (o === undefined || o < 0) throw new Error(`no label ${name}`);
      return block.addr + o;
    },
    start: block.addr,
    end: block.addr + bytes.length,
    offsets,
  };
}

interface Env {
  code: TestCode;
  vmctx: number;
  mem: LinearMemory | null;
  call: (fn: string, ...args: Array<number | bigint>) => bigint;
}

function makeEnv(memPages: number | null = null): Env {
  const code = buildTestCode();
  const layout = computeVmctxLayout({ memories: 1, tables: 0, globals: 0, funcs: 0 });
  const vmctx = nativeAlloc(layout.size);
  initVmctxHeader(vmctx);
  let mem: LinearMemory | null = null;
  if (memPages !== null) {
    mem = new LinearMemory({ initial: memPages, maximum: null, index64: false });
    writePtr(vmctx + layout.memBase(0), mem.base);
    writePtr(vmctx + layout.memDesc(0), mem.desc);
  }
  const stub = code.addr('stub');
  const call = (fn: string, ...args: Array<number | bigint>): bigint => {
    for (let i = 0; i < args.length; i++) argsI64[i] = BigInt(args[i]);
    callWasm(vmctx, stub, code.addr(fn));
    return argsI64[0];
  };
  return { code, vmctx, mem, call };
}

// ---------------------------------------------------------------------------------------------------
// Fixtures (run in a child process)

function expectThrow(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an exception');
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`check failed: ${what}`);
}

const fixtures: Record<string, () => unknown> = {
  basic() {
    const env = makeEnv();
    const r1 = env.call('add', 40, 2);
    const r2 = env.call('add', -5n, 2n ** 40n);
    const r3 = env.call('trivial');
    check(savedRsp() === 0, 'savedRsp restored');
    // The 3-argument entry gives the same results.
    argsI64[0] = 7n;
    argsI64[1] = 8n;
    callWasm3(env.vmctx, env.code.addr('stub'), env.code.addr('add'));
    return { r1: String(r1), r2: String(r2), r3: String(r3), r4: String(argsI64[0]) };
  },

  trap() {
    const env = makeEnv();
    const e = expectThrow(() => env.call('clobber_trap')) as Error;
    check(e instanceof RuntimeError, 'RuntimeError');
    check(savedRsp() === 0, 'savedRsp restored after trap');
    // Callee-saved registers intact after a trap, checked by a native caller.
    const probe = koffi.decode(env.code.addr('probe'), koffi.proto('int64_t (int64_t, int64_t, int64_t, int64_t)')) as
      (...a: number[]) => number;
    const p1 = probe(enterAddr, env.vmctx, env.code.addr('stub'), env.code.addr('clobber_trap'));
    argsI64[0] = 1n;
    argsI64[1] = 2n;
    const p2 = probe(enterAddr, env.vmctx, env.code.addr('stub'), env.code.addr('add'));
    // Still usable afterwards.
    const after = env.call('add', 1, 2);
    return { message: e.message, name: e.name, probeTrap: p1, probeOk: p2, after: String(after) };
  },

  backtrace() {
    const env = makeEnv();
    const names: Array<[string, number]> = [['f1', 1], ['f2', 2], ['f3', 3]];
    const starts = names.map(([n, i]) => ({ n, i, at: env.code.addr(n) })).sort((x, y) => x.at - y.at);
    // (This child process runs only this scenario: the symbolizer replaces the instances' one.)
    setTraceSymbolizer((trace) => trace.map((pc) => {
      if (pc < env.code.start || pc >= env.code.end) return null;
      let best: { n: string; i: number; at: number } | null = null;
      for (const s of starts) if (s.at <= pc) best = s;
      if (best === null) return null;
      return `${best.n} (wasm-function[${best.i}]:0x${(pc - best.at).toString(16)})`;
    }));
    const e = expectThrow(() => env.call('f3')) as Error;
    return { message: e.message, stack: e.stack };
  },

  recursion() {
    const env = makeEnv();
    const deep = env.call('rec', 100000);
    const e = expectThrow(() => env.call('rec', 1e9)) as Error;
    check(savedRsp() === 0, 'savedRsp restored after overflow');
    const again = env.call('rec', 1000);
    // Exhaustion repeatedly.
    for (let i = 0; i < 3; i++) expectThrow(() => env.call('rec', 1e9));
    return { deep: String(deep), name: e.name, message: e.message, again: String(again), budget: stackBudget };
  },

  hostcalls() {
    const env = makeEnv();
    const stub = env.code.addr('stub');
    const thrown = { custom: true };
    let innerErr: unknown = null;
    registerHostHandler(env.vmctx, (id) => {
      switch (id) {
        case 7: { // double
          const x = argsI64[0];
          argsI64[0] = x * 2n;
          return 0;
        }
        case 8:
          throw thrown;
        case 9: { // nested wasm that traps, propagating
          argsI64[0] = 0n;
          callWasm(env.vmctx, stub, env.code.addr('clobber_trap'));
          return 0;
        }
        case 10: { // nested wasm that traps, caught; then a nested normal call
          const x = argsI64[0];
          try {
            callWasm(env.vmctx, stub, env.code.addr('clobber_trap'));
          } catch (e) {
            innerErr = e;
          }
          argsI64[0] = x;
          argsI64[1] = 1000n;
          callWasm(env.vmctx, stub, env.code.addr('add'));
          return 0;
        }
        case 11:
          return TrapCode.DivideByZero;
        case 12: { // JS -> wasm -> JS -> wasm -> JS -> wasm (3 levels), doubling at the bottom
          const x = argsI64[0];
          argsI64[0] = x;
          argsI64[1] = 7n;
          callWasm(env.vmctx, stub, env.code.addr('host'));
          return 0;
        }
      }
      return 0;
    });
    const doubled = env.call('host', 21, 7);
    const e8 = expectThrow(() => env.call('host', 1, 8));
    check(savedRsp() === 0, 'savedRsp after host exception');
    const e9 = expectThrow(() => env.call('host', 1, 9)) as Error;
    check(savedRsp() === 0, 'savedRsp after nested trap');
    const r10 = env.call('host', 5, 10);
    const e11 = expectThrow(() => env.call('host', 1, 11)) as Error;
    const r12 = env.call('host', 50, 12);
    // Host exception thrown while nested twice, then normal calls still work.
    const after = env.call('add', 2, 3);
    unregisterHostHandler(env.vmctx);
    const eNoHandler = expectThrow(() => env.call('host', 1, 7)) as Error;
    return {
      doubled: String(doubled),
      sameObject: e8 === thrown,
      e9: `${e9.name}: ${e9.message}`,
      e9IsRuntime: e9 instanceof RuntimeError,
      r10: String(r10),
      inner: innerErr instanceof RuntimeError ? (innerErr as Error).message : String(innerErr),
      e11: e11.message,
      r12: String(r12),
      after: String(after),
      noHandler: eNoHandler.message,
    };
  },

  nestedOverflow() {
    const env = makeEnv();
    const stub = env.code.addr('stub');
    let nestedOk = 0;
    let nestedOverflows = 0;
    let mode = 0;
    registerHostHandler(env.vmctx, (id) => {
      if (id === 14) {
        if (mode === 0) {
          // Every level (including the deepest ones, right above the limit) re-enters wasm.
          argsI64[0] = 1n;
          argsI64[1] = 2n;
          try {
            callWasm(env.vmctx, stub, env.code.addr('add'));
            nestedOk++;
          } catch (e) {
            if (e instanceof RangeError) nestedOverflows++;
            else throw e;
          }
        }
        return 0;
      }
      if (id === 15) {
        // Nested deep recursion: overflows inside the nested entry, propagates out of the outer one.
        argsI64[0] = 1000000000n;
        callWasm(env.vmctx, stub, env.code.addr('rec'));
      }
      return 0;
    });
    const e1 = expectThrow(() => env.call('rech', 1e9)) as Error;
    check(savedRsp() === 0, 'savedRsp after nested overflow');
    const e2 = expectThrow(() => env.call('host', 1, 15)) as Error;
    mode = 1;
    const ok = env.call('rech', 1000);
    return { e1: `${e1.name}: ${e1.message}`, nestedOk: nestedOk > 1000, nestedOverflows, e2: `${e2.name}: ${e2.message}`, ok: String(ok) };
  },

  memory() {
    const env = makeEnv(1);
    const mem = env.mem!;
    const u32 = new Uint32Array(mem.buffer);
    u32[10] = 0xabcdef;
    const r1 = env.call('load32', 40);
    env.call('store32', 100, 0x12345678);
    const r2 = new DataView(mem.buffer).getUint32(100, true);
    const oob = expectThrow(() => env.call('load32', 65533)) as Error;
    const buf1 = mem.buffer;
    const old = mem.grow(2);
    check(mem.buffer !== buf1, 'new buffer after grow');
    check(mem.buffer.byteLength === 3 * WASM_PAGE_SIZE, 'grown buffer length');
    check(readU64(mem.desc + MEMDESC_LENGTH) === 3 * WASM_PAGE_SIZE, 'desc length');
    // Machine code sees the new pages (fresh pages are zero), JS sees machine-code writes.
    const fresh = env.call('load32', 2 * WASM_PAGE_SIZE + 8);
    env.call('store32', 3 * WASM_PAGE_SIZE - 4, 77);
    const last = new DataView(mem.buffer).getUint32(3 * WASM_PAGE_SIZE - 4, true);
    const oob2 = expectThrow(() => env.call('store32', 3 * WASM_PAGE_SIZE - 3, 1)) as Error;
    // The old buffer is V8's, detached by the grow (as in V8); the bytes are still there.
    const oldStill = buf1.byteLength === 0 ? new Uint32Array(mem.buffer)[10] : -1;
    return { r1: String(r1), r2, oob: oob.message, old, fresh: String(fresh), last, oob2: oob2.message, oldStill };
  },

  memory64() {
    const pages = 65536 + 2; // 4 GiB + 128 KiB
    const mem = new LinearMemory({ initial: 1, maximum: pages + 14, index64: true });
    const reserved = mem.reservedBytes;
    const g = mem.grow(pages - 1);
    const big = mem.byteLength;
    const bufErr = expectThrow(() => mem.buffer) as Error;
    const off = 2 ** 32 + 100;
    mem.write(off, new Uint8Array([1, 2, 3, 4, 5]));
    const back = Array.from(mem.read(off - 2, 9));
    // A read straddling the 4 GiB boundary.
    mem.write(2 ** 32 - 3, new Uint8Array([9, 8, 7, 6, 5, 4]));
    const straddle = Array.from(mem.read(2 ** 32 - 3, 6));
    const w = mem.window(off, 5);
    const win = Array.from(w);
    mem.fill(off, 0xee, 2);
    const filled = Array.from(mem.read(off, 3));
    const tooFar = expectThrow(() => mem.read(big - 2, 4)) as Error;
    const growFail = mem.grow(1000);
    const growOk = mem.grow(14);
    const growBeyond = mem.grow(1);
    return {
      reserved, g, big, bufErr: `${bufErr.name}`, back, straddle, win, filled, tooFar: tooFar.name,
      growFail, growOk, growBeyond, pages: mem.pages,
    };
  },

  bench() {
    const env = makeEnv();
    const stub = env.code.addr('stub');
    const trivial = env.code.addr('trivial');
    const add = env.code.addr('add');
    const N = 300000;
    const time = (f: () => void): number => {
      let best = Infinity;
      for (let r = 0; r < 5; r++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < N; i++) f();
        const dt = Number(process.hrtime.bigint() - t0) / N;
        if (dt < best) best = dt;
      }
      return Math.round(best * 10) / 10;
    };
    const enter0 = time(() => callWasm(env.vmctx, stub, trivial));
    const enter3 = time(() => callWasm3(env.vmctx, stub, trivial));
    const addCall = time(() => {
      argsI32[0] = 1; argsI32[1] = 0; argsI32[2] = 2; argsI32[3] = 0;
      callWasm(env.vmctx, stub, add);
    });
    registerHostHandler(env.vmctx, () => 0);
    const host = time(() => {
      argsI32[2] = 7; argsI32[3] = 0;
      callWasm(env.vmctx, stub, env.code.addr('host'));
    });
    return { enter0, enter3, addCall, hostRoundTrip: host };
  },
};

function runChild(name: string): { result: Record<string, unknown>; stderr: string } {
  const r = spawnSync(process.execPath, [SELF], {
    env: { ...process.env, QB_RT_FIXTURE: name },
    encoding: 'utf8',
    timeout: 120000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const out = r.stdout ?? '';
  const marker = out.lastIndexOf('@@RESULT ');
  if (r.status !== 0 || marker < 0) {
    throw new Error(`fixture ${name} failed: status ${r.status} signal ${r.signal}\nstdout: ${out}\nstderr: ${r.stderr}`);
  }
  return { result: JSON.parse(out.slice(marker + 9)), stderr: r.stderr };
}

const fixtureName = process.env.QB_RT_FIXTURE;
if (fixtureName !== undefined) {
  const f = fixtures[fixtureName];
  if (f === undefined) throw new Error(`unknown fixture ${fixtureName}`);
  const result = f();
  process.stdout.write(`@@RESULT ${JSON.stringify(result)}\n`);
} else {
  // -------------------------------------------------------------------------------------------------
  // In-process tests (no machine code)

  test('vmctx layout', () => {
    const l = computeVmctxLayout({ memories: 2, tables: 3, globals: 4, funcs: 5 });
    // Header: exec, hostcall, trap handler, interrupts, code slots (5 x 8 bytes), then the memories.
    assert.is(l.memBase(0), 40);
    assert.is(l.memDesc(0), 48);
    assert.is(l.memBase(1), 56);
    assert.is(l.table(0), 72);
    assert.is(l.table(2), 88);
    assert.is(l.global(0), 96);
    assert.is(l.func(0), 128);
    assert.is(l.record(0), 168);
    // (a FuncRecord: memory entry, vmctx, signature id, register entry: 32 bytes)
    assert.is(l.record(4), 168 + 4 * 32);
    assert.is(l.size, 168 + 5 * 32);
    assert.throws(() => l.table(3), RangeError);
    const r = computeVmctxLayout({ memories: 0, tables: 0, globals: 0, funcs: 3, records: 1 });
    assert.is(r.size, 40 + 24 + 32);
    // The signature table (u32 per type index) follows the records; the size stays a multiple of 8.
    const s = computeVmctxLayout({ memories: 0, tables: 0, globals: 0, funcs: 3, records: 1, types: 3 });
    assert.is(s.sig(0), 40 + 24 + 32);
    assert.is(s.sig(2), 40 + 24 + 32 + 8);
    assert.is(s.size, 40 + 24 + 32 + 16);
    assert.throws(() => s.sig(3), RangeError);
  });

  test('vmctx header', () => {
    const vm = nativeAlloc(64);
    initVmctxHeader(vm);
    assert.is(readPtr(vm), execStateAddr);
    assert.ok(readPtr(vm + 8) !== 0);
    assert.is(readPtr(vm + 16), trapHandlerAddr);
  });

  test('code memory: W^X, packing, freeing', () => {
    const perms = (addr: number): string => {
      for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
        const [range, p] = line.split(' ');
        if (!range) continue;
        const [lo, hi] = range.split('-').map((x) => parseInt(x, 16));
        if (addr >= lo && addr < hi) return p;
      }
      return '';
    };
    const before = codeMemoryMapped();
    const small = Array.from({ length: 40 }, (_, i) => allocateCode(new Uint8Array(100 + i).fill(0xc3)));
    for (const b of small) assert.ok(perms(b.addr).startsWith('r-x'), perms(b.addr));
    // packed: many blocks share a 64 KiB chunk
    assert.ok(codeMemoryMapped() - before <= 2 * 65536);
    const content = new Uint8Array(new ArrayBuffer(8));
    content.set(new Uint8Array(koffi.view(small[3].addr, 8)));
    assert.equal(Array.from(content), new Array(8).fill(0xc3));
    const large = allocateCode(new Uint8Array(100000).fill(0x90));
    assert.ok(perms(large.addr).startsWith('r-x'));
    assert.is(large.size, 102400);
    const mid = codeMemoryMapped();
    large.free();
    large.free();
    assert.is(codeMemoryMapped(), mid - 102400);
    assert.is(perms(large.addr), '---p', 'a freed block is inaccessible');
    for (const b of small) b.free();
  });

  test('stack budget', () => {
    assert.ok(stackBudget >= 8 * 1024 * 1024, `budget ${stackBudget}`);
  });

  test('linear memory: grow, commit, views, limits', () => {
    const m = new LinearMemory({ initial: 0, maximum: 4, index64: false });
    assert.is(m.byteLength, 0);
    assert.is(m.buffer.byteLength, 0);
    assert.is(m.reservedBytes, 4 * WASM_PAGE_SIZE);
    assert.is(m.grow(1), 0);
    const b = new Uint8Array(m.buffer);
    assert.is(b.length, WASM_PAGE_SIZE);
    assert.ok(b.every((x) => x === 0));
    b[5] = 9;
    assert.is(m.grow(0), 1);
    assert.is(m.grow(3), 1);
    assert.is(m.grow(1), -1);
    assert.is(m.pages, 4);
    assert.is(new Uint8Array(m.buffer)[5], 9);
    assert.equal(Array.from(m.read(4, 3)), [0, 9, 0]);
    m.write(WASM_PAGE_SIZE * 4 - 2, new Uint8Array([1, 2]));
    assert.throws(() => m.write(WASM_PAGE_SIZE * 4 - 1, new Uint8Array([1, 2])), RangeError);
    m.copyWithin(0, WASM_PAGE_SIZE * 4 - 2, 2);
    assert.equal(Array.from(m.read(0, 2)), [1, 2]);
    assert.is(readU64(m.desc + MEMDESC_LENGTH), 4 * WASM_PAGE_SIZE);
    assert.is(readPtr(m.desc), m.base);
    // memory32 without maximum reserves 4 GiB.
    const big = new LinearMemory({ initial: 1, maximum: null, index64: false });
    assert.is(big.reservedBytes, 2 ** 32);
    assert.is(big.grow(65536), -1);
    assert.is(big.grow(10), 1);
    assert.throws(() => new LinearMemory({ initial: 65537, maximum: null, index64: false }), RangeError);
  });

  test('table storage', () => {
    const t = new TableStorage({ elemType: TableElem.FuncRef, initial: 2, maximum: 10, index64: false });
    assert.is(t.length, 2);
    assert.is(t.get(0), 0);
    t.set(1, 0x7f0012345678);
    assert.is(t.get(1), 0x7f0012345678);
    assert.is(readPtr(t.desc), t.elementsAddr);
    assert.is(readU64(t.desc + 8), 2);
    assert.is(readU64(t.desc + 16), 10);
    assert.is(t.grow(3, 5), 2);
    assert.is(t.length, 5);
    assert.is(readU64(t.desc + 8), 5);
    assert.is(readPtr(t.desc), t.elementsAddr);
    assert.is(t.get(1), 0x7f0012345678);
    assert.is(t.get(4), 5);
    assert.is(t.grow(6), -1);
    assert.is(t.grow(5), 5);
    assert.is(t.get(9), 0);
    t.fill(0, 3, 4);
    assert.equal([0, 1, 2, 3, 4].map((i) => t.get(i)), [3, 3, 3, 3, 5]);
    t.set(0, 1); t.set(1, 2); t.set(2, 3);
    t.copy(1, 0, 3);
    assert.equal([0, 1, 2, 3].map((i) => t.get(i)), [1, 1, 2, 3]);
    assert.throws(() => t.copy(8, 0, 3), RangeError);
    assert.throws(() => t.get(10), RangeError);
    const u = new TableStorage({ elemType: TableElem.ExternRef, initial: 3, maximum: null, index64: false, init: 7 });
    assert.equal([0, 1, 2].map((i) => u.get(i)), [7, 7, 7]);
    u.copy(0, 0, 2, t);
    assert.equal([0, 1, 2].map((i) => u.get(i)), [1, 1, 7]);
    assert.is(readU64(u.desc + 16), 2 ** 32 - 1);
    assert.throws(() => new TableStorage({ elemType: TableElem.FuncRef, initial: 2e7, maximum: null, index64: false }), RangeError);
  });

  // -------------------------------------------------------------------------------------------------
  // Machine code, in child processes

  test('call with args and results through the args buffer', () => {
    const { result } = runChild('basic');
    assert.equal(result, { r1: '42', r2: String(-5n + 2n ** 40n), r3: '42', r4: '15' });
  });

  test('trap unwinds; callee-saved registers intact', () => {
    const { result } = runChild('trap');
    assert.is(result.name, 'RuntimeError');
    assert.is(result.message, 'unreachable');
    assert.is(result.probeTrap, 0x100 | TrapCode.Unreachable);
    assert.is(result.probeOk, 0x100);
    assert.is(result.after, '3');
  });

  test('trap backtrace through the symbolizer', () => {
    const { result } = runChild('backtrace');
    const stack = String(result.stack);
    const lines = stack.split('\n');
    assert.is(lines[0], 'RuntimeError: unreachable');
    assert.match(lines[1], /^ {4}at f1 \(wasm-function\[1\]:0x[0-9a-f]+\)$/);
    assert.match(lines[2], /^ {4}at f2 \(wasm-function\[2\]:0x[0-9a-f]+\)$/);
    assert.match(lines[3], /^ {4}at f3 \(wasm-function\[3\]:0x[0-9a-f]+\)$/);
    assert.match(lines[4], /^ {4}at /);
  });

  test('deep recursion hits the stack limit without killing the process', () => {
    const { result } = runChild('recursion');
    assert.is(result.deep, '100000');
    assert.is(result.name, 'RangeError');
    assert.is(result.message, 'Maximum call stack size exceeded');
    assert.is(result.again, '1000');
  });

  test('host calls: values, exceptions, nesting', () => {
    const { result } = runChild('hostcalls');
    assert.is(result.doubled, '42');
    assert.is(result.sameObject, true);
    assert.is(result.e9, 'RuntimeError: unreachable');
    assert.is(result.e9IsRuntime, true);
    assert.is(result.r10, '1005');
    assert.is(result.inner, 'unreachable');
    assert.is(result.e11, 'divide by zero');
    assert.is(result.r12, '100');
    assert.is(result.after, '5');
    assert.match(String(result.noHandler), /unknown instance context/);
  });

  test('host calls and nested entries near the stack limit', () => {
    const { result } = runChild('nestedOverflow');
    assert.is(result.e1, 'RangeError: Maximum call stack size exceeded');
    assert.is(result.nestedOk, true);
    assert.is(result.e2, 'RangeError: Maximum call stack size exceeded');
    assert.is(result.ok, '1000');
    console.log(`    nested entries that overflowed near the limit: ${result.nestedOverflows}`);
  });

  test('linear memory from machine code: bounds, grow, views', () => {
    const { result } = runChild('memory');
    assert.equal(result, {
      r1: String(0xabcdef), r2: 0x12345678, oob: 'memory access out of bounds', old: 1, fresh: '0', last: 77,
      oob2: 'memory access out of bounds', oldStill: 0xabcdef,
    });
  });

  test('memory64 above 4 GiB: windows', () => {
    const { result } = runChild('memory64');
    assert.is(result.reserved, (65536 + 16) * WASM_PAGE_SIZE);
    assert.is(result.g, 1);
    assert.is(result.big, (65536 + 2) * WASM_PAGE_SIZE);
    assert.is(result.bufErr, 'RangeError');
    assert.equal(result.back, [0, 0, 1, 2, 3, 4, 5, 0, 0]);
    assert.equal(result.straddle, [9, 8, 7, 6, 5, 4]);
    assert.equal(result.win, [1, 2, 3, 4, 5]);
    assert.equal(result.filled, [0xee, 0xee, 3]);
    assert.is(result.tooFar, 'RangeError');
    assert.is(result.growFail, -1);
    assert.is(result.growOk, 65538);
    assert.is(result.growBeyond, -1);
  });

  test('call cost (informational)', () => {
    const { result } = runChild('bench');
    console.log(`    callWasm ns/call: ${JSON.stringify(result)}`);
    assert.ok(Number(result.enter0) > 0);
  });

  test.run();
}

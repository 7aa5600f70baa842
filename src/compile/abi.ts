// What generated code needs from the runtime's native layouts (runtime/layout.ts), plus the builtin ids
// that generated code passes to the host-call callback.

export {
  VMCTX_EXEC, VMCTX_HOSTCALL, VMCTX_TRAP_HANDLER, EXEC_STACK_LIMIT, EXEC_ARGS, TrapCode, TRAP_CODE_COUNT,
  HOSTCALL_BUILTIN_BASE, MEMDESC_LENGTH, MEMDESC_FAST_LIMIT, MEMORY_FAST_REACH, VMCTX_INTERRUPTS, INTERRUPT_FLAG, INTERRUPT_FUEL, VMCTX_CODE_SLOTS, TABLEDESC_ELEMENTS, TABLEDESC_LENGTH, FUNCREC_CODE, FUNCREC_VMCTX, FUNCREC_SIG, FUNCREC_REG_CODE,
  EXEC_TAIL_CALL_RETURN,
} from '../runtime/layout.js';

/** Builtins called through the host-call callback (ids above every import index). */
export const enum Builtin {
  MemoryGrow = 0x10000,
  MemoryFill,
  MemoryCopy,
  MemoryInit,
  DataDrop,
  TableGrow,
  TableFill,
  TableCopy,
  TableInit,
  ElemDrop,
  /** Lazy compilation: compile function (args slot 0) and store its address in the module's code slot. */
  LazyCompile,
  /** Exception handling: throw tag (args slot 0) with the payload from slot 1 on; always raises. */
  Throw,
  /** throw_ref / rethrow: throw again the exception whose exnref id is in args slot 0 (null traps). */
  ThrowRef,
  /** threads (compile/emit-atomics.ts): memory index in slot 0, the checked effective address in slot 1. */
  AtomicNotify,
  AtomicWait32,
  AtomicWait64,
  /** GC (api/gc-builtins.ts): whether canonical type slot 0 is a subtype of slot 1 (call_indirect, casts). */
  GcSubtype,
  /** Allocate slot 0 bytes (a region for the inline bump allocator, or a big object); address to slot 0. */
  GcAlloc,
  /** array.new_data / new_elem: type index slot 0, segment slot 1, offset slot 2, length slot 3 -> slot 0. */
  ArrayNewData,
  ArrayNewElem,
  /** array.init_data / init_elem: type slot 0, segment slot 1, array slot 2, dest 3, src offset 4, length 5. */
  ArrayInitData,
  ArrayInitElem,
  /** array.copy: dst slot 0, dst offset 1, src 2, src offset 3, count 4, element size 5. */
  ArrayCopy,
}

// The WASI hello world: prints a greeting and its arguments.
//
//   quickbeam run examples/hello.wasm you there
//
// Built by scripts/build-examples.sh (Debian clang + wasi-libc).

#include <stdio.h>

int main(int argc, char **argv) {
  printf("Hello from Quickbeam!\n");
  for (int i = 1; i < argc; i++) printf("argv[%d] = %s\n", i, argv[i]);
  return 0;
}

// Reads files from a preopened directory and prints them, like cat; with -c it prints line, word and byte
// counts instead, like wc.
//
//   quickbeam run --dir examples::/data examples/cat.wasm /data/README.md
//   quickbeam run --dir examples::/data examples/cat.wasm -c /data/README.md /data/hello.c
//
// Paths name guest paths: wasi-libc finds the preopened directory they start with. Exit status 1 when a file
// could not be read.
// Built by scripts/build-examples.sh (Debian clang + wasi-libc).

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int cat_file(const char *path, int count) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cat: %s: %s\n", path, strerror(errno));
    return 1;
  }
  char buf[65536];
  size_t n;
  unsigned long long lines = 0, words = 0, bytes = 0;
  int in_word = 0;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    if (!count) {
      fwrite(buf, 1, n, stdout);
      continue;
    }
    bytes += n;
    for (size_t i = 0; i < n; i++) {
      char c = buf[i];
      if (c == '\n') lines++;
      int space = c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
      if (!space && !in_word) words++;
      in_word = !space;
    }
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    fprintf(stderr, "cat: %s: read error\n", path);
    return 1;
  }
  if (count) printf("%7llu %7llu %7llu %s\n", lines, words, bytes, path);
  return 0;
}

int main(int argc, char **argv) {
  int count = 0, status = 0, files = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-c")) {
      count = 1;
      continue;
    }
    status |= cat_file(argv[i], count);
    files++;
  }
  if (files == 0) {
    fprintf(stderr, "usage: cat [-c] FILE...\n");
    return 2;
  }
  return status;
}

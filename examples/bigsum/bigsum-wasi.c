/* bigsum, WASI version: reads the file through fd_read (WASI preview1) into a buffer and sums it, for
 * comparison with the mapped version. A plain wasm32 command with no libc: `bigsum-wasi.wasm PATH`, where
 * PATH is relative to the first preopened directory (fd 3). Prints
 *   bytes=<decimal> sum=<16 hex digits> hash=<16 hex digits>
 * on stdout; exit status 0, or 1 with a message on stderr.
 */
#include "bigsum-core.h"

typedef unsigned int u32;
typedef unsigned short u16;

struct iovec { const u8 *buf; u32 len; };

#define WASI(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))
WASI(args_sizes_get) u16 wasi_args_sizes_get(u32 *argc, u32 *argv_buf_size);
WASI(args_get) u16 wasi_args_get(u8 **argv, u8 *argv_buf);
WASI(path_open) u16 wasi_path_open(u32 dirfd, u32 dirflags, const u8 *path, u32 path_len, u32 oflags,
                                   u64 rights_base, u64 rights_inheriting, u32 fdflags, u32 *fd);
WASI(fd_read) u16 wasi_fd_read(u32 fd, const struct iovec *iovs, u32 iovs_len, u32 *nread);
WASI(fd_write) u16 wasi_fd_write(u32 fd, const struct iovec *iovs, u32 iovs_len, u32 *nwritten);
WASI(fd_close) u16 wasi_fd_close(u32 fd);
WASI(proc_exit) _Noreturn void wasi_proc_exit(u32 code);

#define BUFFER_SIZE (4u << 20) /* 4 MiB, a multiple of 8 */
static u8 buffer[BUFFER_SIZE];
static u8 args_buf[4096];
static u8 *argv[64];

static u32 str_len(const u8 *s) {
  u32 n = 0;
  while (s[n]) n++;
  return n;
}

static void write_all(u32 fd, const u8 *p, u32 n) {
  while (n > 0) {
    struct iovec io = { p, n };
    u32 done = 0;
    if (wasi_fd_write(fd, &io, 1, &done) != 0 || done == 0) return;
    p += done;
    n -= done;
  }
}

static void fail(const char *msg, u32 errno_value) {
  u8 line[160];
  u32 n = 0;
  const char *prefix = "bigsum-wasi: ";
  for (const char *q = prefix; *q; q++) line[n++] = (u8)*q;
  for (const char *q = msg; *q && n < 120; q++) line[n++] = (u8)*q;
  if (errno_value) {
    const char *e = " (errno ";
    for (const char *q = e; *q; q++) line[n++] = (u8)*q;
    u8 digits[8];
    u32 d = 0;
    do { digits[d++] = (u8)('0' + errno_value % 10); errno_value /= 10; } while (errno_value);
    while (d) line[n++] = digits[--d];
    line[n++] = ')';
  }
  line[n++] = '\n';
  write_all(2, line, n);
  wasi_proc_exit(1);
}

static u32 put_hex(u8 *out, u64 v) {
  for (int i = 15; i >= 0; i--) {
    u32 d = (u32)(v & 15);
    out[i] = (u8)(d < 10 ? '0' + d : 'a' + d - 10);
    v >>= 4;
  }
  return 16;
}

static u32 put_dec(u8 *out, u64 v) {
  u8 tmp[24];
  u32 n = 0, k = 0;
  do { tmp[n++] = (u8)('0' + v % 10); v /= 10; } while (v);
  while (n) out[k++] = tmp[--n];
  return k;
}

static u32 put_str(u8 *out, const char *s) {
  u32 n = 0;
  while (s[n]) { out[n] = (u8)s[n]; n++; }
  return n;
}

#define RIGHT_FD_READ (1ull << 1)
#define RIGHT_FD_SEEK (1ull << 2)

__attribute__((export_name("_start")))
void _start(void) {
  u32 argc = 0, size = 0;
  if (wasi_args_sizes_get(&argc, &size) != 0 || argc > 64 || size > sizeof args_buf) fail("bad arguments", 0);
  wasi_args_get(argv, args_buf);
  if (argc != 2) fail("usage: bigsum-wasi.wasm PATH (relative to the first preopened directory)", 0);
  const u8 *path = argv[1];
  while (*path == '/') path++; /* accept "/name" as well */
  u32 fd = 0;
  u16 err = wasi_path_open(3, 1, path, str_len(path), 0, RIGHT_FD_READ | RIGHT_FD_SEEK, 0, 0, &fd);
  if (err != 0) fail("cannot open the file", err);

  struct bigsum_state s;
  bigsum_init(&s);
  for (;;) {
    /* Fill the whole buffer (or reach the end), so every chunk but the last is a multiple of 8 bytes. */
    u32 have = 0;
    while (have < BUFFER_SIZE) {
      struct iovec io = { buffer + have, BUFFER_SIZE - have };
      u32 got = 0;
      err = wasi_fd_read(fd, &io, 1, &got);
      if (err != 0) fail("read error", err);
      if (got == 0) break;
      have += got;
    }
    if (have == 0) break;
    bigsum_update(&s, buffer, have);
    if (have < BUFFER_SIZE) break;
  }
  wasi_fd_close(fd);

  u8 line[128];
  u32 n = 0;
  n += put_str(line + n, "bytes=");
  n += put_dec(line + n, s.bytes);
  n += put_str(line + n, " sum=");
  n += put_hex(line + n, s.sum);
  n += put_str(line + n, " hash=");
  n += put_hex(line + n, s.hash);
  line[n++] = '\n';
  write_all(1, line, n);
}

/* Quickbeam bench: image and physics kernels of the kind found in image libraries and game engines.
 * An 8-bit grayscale image (procedural: gradients, rings and noise) goes through a separable 5x5 Gaussian
 * blur (integer, fixed point), Sobel edge magnitude (integer sqrt-free L1), a histogram equalisation
 * (lookup table), a bilinear rotation by a non-trivial angle (f32 coordinates, clamped sampling), and an
 * RGBA alpha blend (byte unpack/pack). Then a particle/spring system in the style of a Verlet cloth solver
 * (f32 positions, distance constraints relaxed with sqrtf, gravity, floor collisions).
 * argv[1] = image side, argv[2] = image passes, argv[3] = cloth side, argv[4] = cloth steps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <math.h>

static uint32_t rng = 0x9e3779b9u;
static uint32_t xr(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }

static void blur5(const uint8_t *src, uint8_t *tmp, uint8_t *dst, int w, int h) {
  static const int k[5] = {1, 4, 6, 4, 1};
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int s = 0;
      for (int i = -2; i <= 2; i++) { int xx = x + i; xx = xx < 0 ? 0 : xx >= w ? w - 1 : xx; s += k[i + 2] * src[y * w + xx]; }
      tmp[y * w + x] = (uint8_t)((s + 8) >> 4);
    }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int s = 0;
      for (int i = -2; i <= 2; i++) { int yy = y + i; yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy; s += k[i + 2] * tmp[yy * w + x]; }
      dst[y * w + x] = (uint8_t)((s + 8) >> 4);
    }
}

static void sobel(const uint8_t *src, uint8_t *dst, int w, int h) {
  memset(dst, 0, (size_t)w * (size_t)h);
  for (int y = 1; y < h - 1; y++) {
    const uint8_t *a = src + (y - 1) * w, *b = src + y * w, *c = src + (y + 1) * w;
    for (int x = 1; x < w - 1; x++) {
      int gx = (a[x + 1] + 2 * b[x + 1] + c[x + 1]) - (a[x - 1] + 2 * b[x - 1] + c[x - 1]);
      int gy = (c[x - 1] + 2 * c[x] + c[x + 1]) - (a[x - 1] + 2 * a[x] + a[x + 1]);
      int m = (gx < 0 ? -gx : gx) + (gy < 0 ? -gy : gy);
      dst[y * w + x] = (uint8_t)(m > 255 ? 255 : m);
    }
  }
}

static void equalize(uint8_t *img, int n) {
  uint32_t hist[256] = {0}; uint8_t lut[256];
  for (int i = 0; i < n; i++) hist[img[i]]++;
  uint32_t cdf = 0, cmin = 0;
  for (int v = 0; v < 256; v++) { if (!cmin && hist[v]) cmin = hist[v]; }
  for (int v = 0; v < 256; v++) {
    cdf += hist[v];
    lut[v] = (uint8_t)(cdf <= cmin ? 0 : (uint32_t)(((uint64_t)(cdf - cmin) * 255) / (uint64_t)(n - (int)cmin)));
  }
  for (int i = 0; i < n; i++) img[i] = lut[img[i]];
}

static void rotate(const uint8_t *src, uint8_t *dst, int w, int h, float angle) {
  /* small-angle sin/cos by Taylor series: no libm */
  float a2 = angle * angle;
  float sn = angle * (1 - a2 / 6 * (1 - a2 / 20 * (1 - a2 / 42)));
  float cs = 1 - a2 / 2 * (1 - a2 / 12 * (1 - a2 / 30));
  float cx = (float)w * 0.5f, cy = (float)h * 0.5f;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      float dx = (float)x - cx, dy = (float)y - cy;
      float sx = cs * dx + sn * dy + cx, sy = -sn * dx + cs * dy + cy;
      if (sx < 0) sx = 0; if (sy < 0) sy = 0;
      if (sx > (float)(w - 2)) sx = (float)(w - 2); if (sy > (float)(h - 2)) sy = (float)(h - 2);
      int ix = (int)sx, iy = (int)sy;
      float fx = sx - (float)ix, fy = sy - (float)iy;
      const uint8_t *p = src + iy * w + ix;
      float top = p[0] + (p[1] - p[0]) * fx, bot = p[w] + (p[w + 1] - p[w]) * fx;
      dst[y * w + x] = (uint8_t)(top + (bot - top) * fy + 0.5f);
    }
}

static void blend(uint32_t *dst, const uint32_t *src, int n) {
  for (int i = 0; i < n; i++) {
    uint32_t s = src[i], d = dst[i], a = s >> 24, ia = 255 - a;
    uint32_t rb = ((s & 0xff00ff) * a + (d & 0xff00ff) * ia + 0x800080) >> 8 & 0xff00ff;
    uint32_t g = ((s & 0xff00) * a + (d & 0xff00) * ia + 0x8000) >> 8 & 0xff00;
    dst[i] = 0xff000000u | rb | g;
  }
}

typedef struct { float x, y, z, px, py, pz; } particle;
typedef struct { int a, b; float rest; } spring;

int main(int argc, char **argv) {
  int side = argc > 1 ? atoi(argv[1]) : 512, passes = argc > 2 ? atoi(argv[2]) : 4;
  int cloth = argc > 3 ? atoi(argv[3]) : 48, steps = argc > 4 ? atoi(argv[4]) : 200;
  int n = side * side;
  uint8_t *img = malloc((size_t)n), *tmp = malloc((size_t)n), *out = malloc((size_t)n);
  uint32_t *rgba = malloc((size_t)n * 4), *over = malloc((size_t)n * 4);
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++) {
      int dx = x - side / 2, dy = y - side / 3, r2 = dx * dx + dy * dy;
      img[y * side + x] = (uint8_t)((x + y) / 4 + ((r2 / 97) & 1) * 64 + (xr() & 31));
      rgba[y * side + x] = xr() | 0xff000000u; over[y * side + x] = xr();
    }
  uint64_t h = 14695981039346656037ULL;
  for (int p = 0; p < passes; p++) {
    blur5(img, tmp, out, side, side);
    sobel(out, tmp, side, side);
    equalize(tmp, n);
    rotate(tmp, img, side, side, 0.05f + 0.01f * (float)p);
    blend(rgba, over, n);
    for (int i = 0; i < n; i += 7) { h ^= img[i]; h *= 1099511628211ULL; h ^= rgba[i]; h *= 1099511628211ULL; }
  }
  printf("image %dx%d x%d: hash %016llx center %u\n", side, side, passes, (unsigned long long)h, img[n / 2 + side / 2]);

  int np = cloth * cloth;
  particle *pt = malloc(sizeof(particle) * (size_t)np);
  spring *sp = malloc(sizeof(spring) * (size_t)np * 2);
  int ns = 0;
  for (int j = 0; j < cloth; j++)
    for (int i = 0; i < cloth; i++) {
      particle *q = &pt[j * cloth + i];
      q->x = q->px = (float)i * 0.1f; q->y = q->py = 2.0f; q->z = q->pz = (float)j * 0.1f;
      if (i + 1 < cloth) sp[ns++] = (spring){j * cloth + i, j * cloth + i + 1, 0.1f};
      if (j + 1 < cloth) sp[ns++] = (spring){j * cloth + i, (j + 1) * cloth + i, 0.1f};
    }
  const float dt2 = 0.0004f;
  for (int s = 0; s < steps; s++) {
    for (int k = cloth; k < np; k++) {     /* first row pinned */
      particle *q = &pt[k];
      float nx = 2 * q->x - q->px, ny = 2 * q->y - q->py - 9.81f * dt2, nz = 2 * q->z - q->pz;
      q->px = q->x; q->py = q->y; q->pz = q->z;
      q->x = nx; q->y = ny < 0 ? 0 : ny; q->z = nz;
    }
    for (int it = 0; it < 4; it++)
      for (int k = 0; k < ns; k++) {
        particle *a = &pt[sp[k].a], *b = &pt[sp[k].b];
        float dx = b->x - a->x, dy = b->y - a->y, dz = b->z - a->z;
        float d = sqrtf(dx * dx + dy * dy + dz * dz);
        if (d < 1e-6f) continue;
        float f = (d - sp[k].rest) / d * 0.5f;
        int pa = sp[k].a >= cloth, pb = sp[k].b >= cloth;
        if (pa && pb) { a->x += dx * f; a->y += dy * f; a->z += dz * f; b->x -= dx * f; b->y -= dy * f; b->z -= dz * f; }
        else if (pb) { b->x -= 2 * dx * f; b->y -= 2 * dy * f; b->z -= 2 * dz * f; }
        else if (pa) { a->x += 2 * dx * f; a->y += 2 * dy * f; a->z += 2 * dz * f; }
      }
  }
  double sy = 0, sz = 0;
  for (int k = 0; k < np; k++) { sy += pt[k].y; sz += pt[k].z; }
  printf("cloth %dx%d, %d steps: mean y %.5f mean z %.5f corner %.5f %.5f\n", cloth, cloth, steps, sy / np, sz / np,
         (double)pt[np - 1].y, (double)pt[np - 1].z);
  return 0;
}

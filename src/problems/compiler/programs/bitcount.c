/* Population count by four methods, checked against each other. */
#include <stdio.h>

static int naive(unsigned x) { int c = 0; while (x) { c += x & 1; x >>= 1; } return c; }
static int kernighan(unsigned x) { int c = 0; while (x) { x &= x - 1; c++; } return c; }
static int parallel(unsigned x) {
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  x = (x + (x >> 4)) & 0x0F0F0F0Fu;
  return (int)((x * 0x01010101u) >> 24);
}
static unsigned char bits[256];
static int table(unsigned x) { return bits[x & 255] + bits[(x >> 8) & 255] + bits[(x >> 16) & 255] + bits[x >> 24]; }

int main(void) {
  for (int i = 0; i < 256; i++) bits[i] = (unsigned char)naive((unsigned)i);
  unsigned x = 1;
  long totals[4] = {0, 0, 0, 0};
  int mismatches = 0;
  for (int i = 0; i < 100000; i++) {
    x = x * 1664525u + 1013904223u;
    int a = naive(x), b = kernighan(x), c = parallel(x), d = table(x);
    totals[0] += a; totals[1] += b; totals[2] += c; totals[3] += d;
    if (a != b || b != c || c != d) mismatches++;
  }
  printf("%ld %ld %ld %ld mismatches=%d\n", totals[0], totals[1], totals[2], totals[3], mismatches);
  return 0;
}

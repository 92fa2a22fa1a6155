/* Conway's game of life on a torus from a fixed pattern; live cells per generation. */
#include <stdio.h>
#include <string.h>

#define W 64
#define H 48
static unsigned char grid[H][W], next[H][W];

static int neighbours(int y, int x) {
  int n = 0;
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++)
      if (dy || dx) n += grid[(y + dy + H) % H][(x + dx + W) % W];
  return n;
}

int main(void) {
  unsigned s = 99;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) { s = s * 1103515245u + 12345u; grid[y][x] = (s >> 16) % 4 == 0; }
  for (int gen = 0; gen < 60; gen++) {
    int live = 0;
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        int n = neighbours(y, x);
        next[y][x] = n == 3 || (n == 2 && grid[y][x]);
        live += next[y][x];
      }
    memcpy(grid, next, sizeof grid);
    if (gen % 10 == 9) printf("generation %d: %d live\n", gen + 1, live);
  }
  return 0;
}

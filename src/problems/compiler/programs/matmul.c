/* Integer matrix product C = A * B and its trace and checksum, for a few sizes. */
#include <stdio.h>

#define N 48
static int A[N][N], B[N][N], C[N][N];

static void init(int n, int seed) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      A[i][j] = (i * 7 + j * 3 + seed) % 11 - 5;
      B[i][j] = (i * 5 + j * 13 + seed) % 7 - 3;
    }
}

static void multiply(int n) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      int s = 0;
      for (int k = 0; k < n; k++) s += A[i][k] * B[k][j];
      C[i][j] = s;
    }
}

int main(void) {
  for (int n = 8; n <= N; n += 8) {
    init(n, n);
    multiply(n);
    long trace = 0, sum = 0;
    for (int i = 0; i < n; i++) {
      trace += C[i][i];
      for (int j = 0; j < n; j++) sum += (long)C[i][j] * (i + 1);
    }
    printf("n=%d trace=%ld checksum=%ld\n", n, trace, sum);
  }
  return 0;
}

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) of generated buffers, table-driven. */
#include <stdio.h>
#include <stdint.h>

static uint32_t table[256];

static void make_table(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
}

static uint32_t crc32(const unsigned char *buf, int len) {
  uint32_t c = 0xFFFFFFFFu;
  for (int i = 0; i < len; i++) c = table[(c ^ buf[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

int main(void) {
  unsigned char buf[4096];
  uint32_t x = 12345;
  make_table();
  for (int round = 0; round < 8; round++) {
    for (int i = 0; i < (int)sizeof buf; i++) { x = x * 1103515245u + 12345u; buf[i] = (unsigned char)(x >> 16); }
    printf("round %d crc %08x\n", round, crc32(buf, (int)sizeof buf - round * 100));
  }
  return 0;
}

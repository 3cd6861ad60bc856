// Host check of the packed (two quads a word) arithmetic of preprocess.cu's bayerBin2Kernel variant
// 2, no GPU needed: __byte_perm emulated, the scalar binQuad formulas (RGB) against binQuadPair's
// lanes, on 2 million random, all-255 and 0/255 windows (little-endian, as on the GPU). Exits 1 on
// any mismatch. Copies of the kernel's formulas: keep them in step with preprocess.cu.
//   g++ -O2 -o /tmp/packed-lanes-check bench/gpu/packed-lanes-check.cc && /tmp/packed-lanes-check
#include <cstring>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
static uint32_t bp(uint32_t x, uint32_t y, uint32_t s){ uint64_t v = (uint64_t)y<<32 | x; uint32_t r=0; for(int n=0;n<4;n++){ int sel=(s>>(4*n))&7; r |= (uint32_t)((v>>(8*sel))&0xff) << (8*n);} return r; }
static uint32_t avg2p(uint32_t a, uint32_t b){ return ((a + b + 0x00010001u) >> 1) & 0x7fff7fffu; }
static uint32_t avg4p(uint32_t a, uint32_t b, uint32_t c, uint32_t d){ return ((a + b + c + d + 0x00020002u) >> 2) & 0x3fff3fffu; }
template <typename W> void quad(W q, int& r,int&g,int&b){
  const int rR = q(1, 1), gR = (q(0, 1) + q(2, 1) + q(1, 0) + q(1, 2) + 2) >> 2, bR = (q(0, 0) + q(0, 2) + q(2, 0) + q(2, 2) + 2) >> 2;
  const int gG1 = q(1, 2), rG1 = (q(1, 1) + q(1, 3) + 1) >> 1, bG1 = (q(0, 2) + q(2, 2) + 1) >> 1;
  const int gG2 = q(2, 1), bG2 = (q(2, 0) + q(2, 2) + 1) >> 1, rG2 = (q(1, 1) + q(3, 1) + 1) >> 1;
  const int bB = q(2, 2), gB = (q(1, 2) + q(3, 2) + q(2, 1) + q(2, 3) + 2) >> 2, rB = (q(1, 1) + q(1, 3) + q(3, 1) + q(3, 3) + 2) >> 2;
  r = (rR + rG1 + rG2 + rB + 2) >> 2, g = (gR + gG1 + gG2 + gB + 2) >> 2, b = (bR + bG1 + bG2 + bB + 2) >> 2;
}
template <typename W> void pair(W q, uint32_t& r, uint32_t& g, uint32_t& b) {
  const uint32_t rR = q(1, 1), gR = avg4p(q(0, 1), q(2, 1), q(1, 0), q(1, 2)), bR = avg4p(q(0, 0), q(0, 2), q(2, 0), q(2, 2));
  const uint32_t gG1 = q(1, 2), rG1 = avg2p(q(1, 1), q(1, 3)), bG1 = avg2p(q(0, 2), q(2, 2));
  const uint32_t gG2 = q(2, 1), bG2 = avg2p(q(2, 0), q(2, 2)), rG2 = avg2p(q(1, 1), q(3, 1));
  const uint32_t bB = q(2, 2), gB = avg4p(q(1, 2), q(3, 2), q(2, 1), q(2, 3)), rB = avg4p(q(1, 1), q(1, 3), q(3, 1), q(3, 3));
  r = avg4p(rR, rG1, rG2, rB), g = avg4p(gR, gG1, gG2, gB), b = avg4p(bR, bG1, bG2, bB);
}
int main(){ srand(1); long bad=0;
 for(int it=0; it<2000000; it++){
  uint8_t row[4][16]; for(int j=0;j<4;j++) for(int i=0;i<16;i++) row[j][i] = (it%3==0)? 255 : (it%3==1 ? (rand()&1)*255 : rand()&255);
  int q[4][10]; uint32_t P[4][8];
  for(int j=0;j<4;j++){ const uint8_t* base=row[j]+4; uint32_t left, mx, my, right; memcpy(&left, base-4, 4); memcpy(&mx, base,4); memcpy(&my, base+4,4); memcpy(&right, base+8,4);
    q[j][0]=left>>24; for(int i=0;i<4;i++){ q[j][1+i]=(mx>>(8*i))&0xff; q[j][5+i]=(my>>(8*i))&0xff;} q[j][9]=right&0xff;
    const uint32_t m=0x00ff00ffu;
    P[j][0]=bp(left,mx,0x0503)&m; P[j][1]=mx&m; P[j][2]=(mx>>8)&m; P[j][3]=bp(mx,my,0x0402)&m; P[j][4]=bp(mx,my,0x0503)&m; P[j][5]=my&m; P[j][6]=(my>>8)&m; P[j][7]=bp(my,right,0x0402)&m; }
  int R[4],G[4],B[4];
  for(int k=0;k<4;k++) quad([&](int a,int b){return q[a][2*k+b];}, R[k],G[k],B[k]);
  for(int k=0;k<2;k++){ uint32_t r,g,b; pair([&](int a,int c){return P[a][4*k+c];}, r,g,b);
    if((int)(r&0xffff)!=R[2*k]||(int)(g&0xffff)!=G[2*k]||(int)(b&0xffff)!=B[2*k]||(int)(r>>16)!=R[2*k+1]||(int)(g>>16)!=G[2*k+1]||(int)(b>>16)!=B[2*k+1]) bad++; }
 }
 printf("mismatches %ld\n", bad); return bad!=0; }

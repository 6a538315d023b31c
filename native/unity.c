/* Single translation unit holding the whole native core: the cffi module compiles this one file,
 * so each build variant (64-bit or forced 32-bit limbs) gets its own objects. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "api.c"
#include "fleet.c"
#include "mapguard.c"
#include "msm.c"
#include "ntt.c"
#include "parallel.c"
#include "zkey.c"

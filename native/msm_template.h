/* Pippenger MSM for one group, instantiated from msm.c with EC / FE / FE_T / FE_BYTES set.
 * Each thread takes whole windows (an atomic counter hands them out), accumulates signed-digit
 * buckets in XYZZ coordinates with mixed additions (no inversions), then reduces its buckets
 * with a running sum; the caller combines windows top-down with c doublings each. */

#define ZK_CAT3_(a, b, c) a##b##c
#define ZK_CAT3(a, b, c) ZK_CAT3_(a, b, c)
#define ECF(name) ZK_CAT3(EC, _, name)
#define FEF(name) ZK_CAT3(FE, _, name)

typedef struct {
    const ECF(aff) *pts;
    size_t count;
    const int16_t *digits; /* window-major: digits[w * count + i] */
    int c, W;
    ECF(xyzz) *sums;       /* W window sums */
    atomic_int next;
    atomic_int err;
} ECF(msm_ctx);

static void ECF(msm_worker)(void *vctx, int t, int nt) {
    (void)t;
    (void)nt;
    ECF(msm_ctx) *ctx = vctx;
    const size_t nb = (size_t)1 << (ctx->c - 1);
    ECF(xyzz) *buckets = malloc(nb * sizeof *buckets);
    if (!buckets) {
        atomic_store(&ctx->err, ZK_ENOMEM);
        return;
    }
    for (;;) {
        int w = atomic_fetch_add(&ctx->next, 1);
        if (w >= ctx->W) break;
        memset(buckets, 0, nb * sizeof *buckets);
        const int16_t *d = ctx->digits + (size_t)w * ctx->count;
        const ECF(aff) *pts = ctx->pts;
        for (size_t i = 0; i < ctx->count; i++) {
            int di = d[i];
            if (i + 4 < ctx->count) {
                int dn = d[i + 4];
                if (dn) __builtin_prefetch(&buckets[(dn > 0 ? dn : -dn) - 1], 1);
            }
            if (!di) continue;
            const ECF(aff) *p = &pts[i];
            if (ECF(aff_is_inf)(p)) continue;
            if (di > 0) {
                ECF(xyzz_madd)(&buckets[di - 1], &p->x, &p->y);
            } else {
                FE_T ny;
                FEF(neg)(&ny, &p->y);
                ECF(xyzz_madd)(&buckets[-di - 1], &p->x, &ny);
            }
        }
        ECF(xyzz) running, sum;
        memset(&running, 0, sizeof running);
        memset(&sum, 0, sizeof sum);
        for (size_t k = nb; k-- > 0;) {
            ECF(xyzz_add)(&running, &running, &buckets[k]);
            ECF(xyzz_add)(&sum, &sum, &running);
        }
        ctx->sums[w] = sum;
    }
    free(buckets);
}

static int ECF(msm)(const uint8_t *table, size_t count, const int16_t *digits, int c, int W,
                    int threads, uint8_t *out) {
    ECF(msm_ctx) ctx;
    ctx.pts = (const ECF(aff) *)(const void *)table;
    ctx.count = count;
    ctx.digits = digits;
    ctx.c = c;
    ctx.W = W;
    ctx.sums = calloc((size_t)W, sizeof *ctx.sums);
    if (!ctx.sums) return ZK_ENOMEM;
    atomic_init(&ctx.next, 0);
    atomic_init(&ctx.err, ZK_OK);
    zk_parallel(zk_resolve_threads(threads, W), ECF(msm_worker), &ctx);
    int err = atomic_load(&ctx.err);
    if (err != ZK_OK) {
        free(ctx.sums);
        return err;
    }
    ECF(xyzz) acc = ctx.sums[W - 1];
    for (int w = W - 2; w >= 0; w--) {
        for (int k = 0; k < c; k++) ECF(xyzz_dbl)(&acc, &acc);
        ECF(xyzz_add)(&acc, &acc, &ctx.sums[w]);
    }
    free(ctx.sums);
    ECF(aff) r;
    ECF(xyzz_to_aff)(&r, &acc);
    ECF(aff_encode)(out, &r, ZK_ENC_BE);
    return ZK_OK;
}

#undef ECF
#undef FEF

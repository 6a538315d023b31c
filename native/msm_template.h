/* Pippenger MSM for one group, instantiated from msm.c with EC / FE / FE_T set (and #undef'd at
 * the end of this file).
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
    const uint8_t *scalars; /* count x 32 bytes LE, below r */
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
        int16_t d[ZK_DIGIT_BLOCK];
        for (size_t i0 = 0; i0 < ctx->count; i0 += ZK_DIGIT_BLOCK) {
          size_t cnt = ctx->count - i0 < ZK_DIGIT_BLOCK ? ctx->count - i0 : ZK_DIGIT_BLOCK;
          zk_window_digits(ctx->scalars, i0, cnt, w, ctx->c, d);
          const ECF(aff) *pts = ctx->pts + i0;
          for (size_t i = 0; i < cnt; i++) {
            int di = d[i];
            if (i + 4 < cnt) {
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

/* Batch-affine bucket accumulation (the approach gnark-crypto calls "batch affine"): buckets
 * hold affine points; additions into distinct buckets are collected in a batch and share one
 * field inversion (Montgomery's trick), so one addition costs about 5M + 1S + (inversion / batch)
 * instead of 8M + 2S for an XYZZ mixed addition. A point whose bucket is already in the
 * current batch, or whose x equals the bucket's (doubling or cancellation), goes into a per-bucket
 * XYZZ fallback instead; the bucket's value is the sum of both. No queue, so inputs that pile
 * into one bucket (witnesses full of ones) cost no more than plain XYZZ. */
#define ZK_ST_FULL 1
#define ZK_ST_BATCH 2
#define ZK_ST_FB 4

typedef struct {
    ECF(aff) *bk;
    ECF(xyzz) *fb;
    uint8_t *st;
    FE_T *px, *py, *dx, *acc;
    uint32_t *bi;
    int nbatch, cap;
} ECF(ba_state);

static void ECF(ba_flush)(ECF(ba_state) *s) {
    if (!s->nbatch) return;
    FE_T run, inv, ik, lam, t;
    FEF(set_one)(&run);
    for (int k = 0; k < s->nbatch; k++) {
        s->acc[k] = run;
        FEF(mul)(&run, &run, &s->dx[k]);
    }
    FEF(inv)(&inv, &run);
    for (int k = s->nbatch - 1; k >= 0; k--) {
        FEF(mul)(&ik, &inv, &s->acc[k]);
        FEF(mul)(&inv, &inv, &s->dx[k]);
        ECF(aff) *B = &s->bk[s->bi[k]];
        FEF(sub)(&lam, &s->py[k], &B->y);
        FEF(mul)(&lam, &lam, &ik);
        FEF(sqr)(&t, &lam);
        FEF(sub)(&t, &t, &B->x);
        FEF(sub)(&t, &t, &s->px[k]); /* x3 */
        FEF(sub)(&B->x, &B->x, &t);  /* x1 - x3 */
        FEF(mul)(&lam, &lam, &B->x);
        FEF(sub)(&B->y, &lam, &B->y);
        B->x = t;
        s->st[s->bi[k]] &= (uint8_t)~ZK_ST_BATCH;
    }
    s->nbatch = 0;
}

ZK_INLINE void ECF(ba_fallback)(ECF(ba_state) *s, size_t b, const FE_T *x, const FE_T *y) {
    if (s->st[b] & ZK_ST_FB) {
        ECF(xyzz_madd)(&s->fb[b], x, y);
    } else {
        s->fb[b].X = *x;
        s->fb[b].Y = *y;
        FEF(set_one)(&s->fb[b].ZZ);
        FEF(set_one)(&s->fb[b].ZZZ);
        s->st[b] |= ZK_ST_FB;
    }
}

ZK_INLINE void ECF(ba_add)(ECF(ba_state) *s, size_t b, const FE_T *x, const FE_T *y) {
    uint8_t st = s->st[b];
    if (!(st & ZK_ST_FULL)) {
        s->bk[b].x = *x;
        s->bk[b].y = *y;
        s->st[b] = st | ZK_ST_FULL;
        return;
    }
    if ((st & ZK_ST_BATCH) || FEF(eq)(&s->bk[b].x, x)) {
        ECF(ba_fallback)(s, b, x, y);
        return;
    }
    int k = s->nbatch++;
    s->bi[k] = (uint32_t)b;
    s->px[k] = *x;
    s->py[k] = *y;
    FEF(sub)(&s->dx[k], x, &s->bk[b].x);
    s->st[b] = st | ZK_ST_BATCH;
    if (s->nbatch == s->cap) ECF(ba_flush)(s);
}

static void ECF(msm_worker_ba)(void *vctx, int t, int nt) {
    (void)t;
    (void)nt;
    ECF(msm_ctx) *ctx = vctx;
    const size_t nb = (size_t)1 << (ctx->c - 1);
    ECF(ba_state) s;
    s.cap = (int)(nb / 4 < 512 ? nb / 4 : 512);
    if (s.cap < 1) s.cap = 1;
    s.nbatch = 0;
    s.bk = malloc(nb * sizeof *s.bk);
    s.fb = malloc(nb * sizeof *s.fb);
    s.st = malloc(nb);
    s.px = malloc((size_t)s.cap * sizeof(FE_T));
    s.py = malloc((size_t)s.cap * sizeof(FE_T));
    s.dx = malloc((size_t)s.cap * sizeof(FE_T));
    s.acc = malloc((size_t)s.cap * sizeof(FE_T));
    s.bi = malloc((size_t)s.cap * sizeof(uint32_t));
    if (!s.bk || !s.fb || !s.st || !s.px || !s.py || !s.dx || !s.acc || !s.bi) {
        atomic_store(&ctx->err, ZK_ENOMEM);
        goto out;
    }
    for (;;) {
        int w = atomic_fetch_add(&ctx->next, 1);
        if (w >= ctx->W) break;
        memset(s.st, 0, nb);
        int16_t d[ZK_DIGIT_BLOCK];
        for (size_t i0 = 0; i0 < ctx->count; i0 += ZK_DIGIT_BLOCK) {
          size_t cnt = ctx->count - i0 < ZK_DIGIT_BLOCK ? ctx->count - i0 : ZK_DIGIT_BLOCK;
          zk_window_digits(ctx->scalars, i0, cnt, w, ctx->c, d);
          const ECF(aff) *pts = ctx->pts + i0;
          for (size_t i = 0; i < cnt; i++) {
            int di = d[i];
            if (i + 8 < cnt) {
                int dn = d[i + 8];
                if (dn) __builtin_prefetch(&s.bk[(dn > 0 ? dn : -dn) - 1], 1);
            }
            if (!di) continue;
            const ECF(aff) *p = &pts[i];
            if (ECF(aff_is_inf)(p)) continue;
            if (di > 0) {
                ECF(ba_add)(&s, (size_t)(di - 1), &p->x, &p->y);
            } else {
                FE_T ny;
                FEF(neg)(&ny, &p->y);
                ECF(ba_add)(&s, (size_t)(-di - 1), &p->x, &ny);
            }
          }
        }
        ECF(ba_flush)(&s);
        ECF(xyzz) running, sum;
        memset(&running, 0, sizeof running);
        memset(&sum, 0, sizeof sum);
        for (size_t k = nb; k-- > 0;) {
            uint8_t st = s.st[k];
            if (st & ZK_ST_FULL) ECF(xyzz_madd)(&running, &s.bk[k].x, &s.bk[k].y);
            if (st & ZK_ST_FB) ECF(xyzz_add)(&running, &running, &s.fb[k]);
            ECF(xyzz_add)(&sum, &sum, &running);
        }
        ctx->sums[w] = sum;
    }
out:
    free(s.bk);
    free(s.fb);
    free(s.st);
    free(s.px);
    free(s.py);
    free(s.dx);
    free(s.acc);
    free(s.bi);
}

static int ECF(msm)(const uint8_t *table, size_t count, const uint8_t *scalars, int c, int W,
                    int threads, int batch_affine, uint8_t *out) {
    ECF(msm_ctx) ctx;
    ctx.pts = (const ECF(aff) *)(const void *)table;
    ctx.count = count;
    ctx.scalars = scalars;
    ctx.c = c;
    ctx.W = W;
    ctx.sums = calloc((size_t)W, sizeof *ctx.sums);
    if (!ctx.sums) return ZK_ENOMEM;
    atomic_init(&ctx.next, 0);
    atomic_init(&ctx.err, ZK_OK);
    zk_parallel(zk_resolve_threads(threads, W), batch_affine ? ECF(msm_worker_ba) : ECF(msm_worker), &ctx);
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
#undef EC
#undef FE
#undef FE_T

/* Pippenger MSM for one group, instantiated from msm.c with EC / FE / FE_T set, and FB / FB_T
 * (the base field) for Fp2 coordinates (all #undef'd at the end of this file).
 * Each thread takes whole windows (an atomic counter hands them out), accumulates signed-digit
 * buckets in XYZZ coordinates with mixed additions (no inversions), then reduces its buckets
 * with a running sum; the caller combines windows top-down, doubling by each window's width.
 * Window w covers width[w] bits at off[w] (c or c - 1 bits: msm.c, zk_window_plan). */

#define ZK_CAT3_(a, b, c) a##b##c
#define ZK_CAT3(a, b, c) ZK_CAT3_(a, b, c)
#define ECF(name) ZK_CAT3(EC, _, name)
#define FEF(name) ZK_CAT3(FE, _, name)

typedef struct {
    const ECF(aff) *pts;
    size_t count;
    const uint8_t *scalars; /* count x 32 bytes LE, below r */
    int c, W;              /* the widest window, the number of windows */
    const int *width, *off; /* W each */
    ECF(xyzz) *sums;       /* W window sums */
    const int *stop;       /* the caller's stop flag, or NULL (zk_stopped) */
    atomic_int next;
    atomic_int err;
} ECF(msm_ctx);

static void ECF(msm_worker)(void *vctx, int t, int nt) {
    (void)t;
    (void)nt;
    ECF(msm_ctx) *ctx = vctx;
    ECF(xyzz) *buckets = malloc(((size_t)1 << (ctx->c - 1)) * sizeof *buckets);
    if (!buckets) {
        atomic_store(&ctx->err, ZK_ENOMEM);
        return;
    }
    for (;;) {
        int w = atomic_fetch_add(&ctx->next, 1);
        if (w >= ctx->W) break;
        const size_t nb = (size_t)1 << (ctx->width[w] - 1);
        memset(buckets, 0, nb * sizeof *buckets);
        int16_t d[ZK_DIGIT_BLOCK];
        for (size_t i0 = 0; i0 < ctx->count; i0 += ZK_DIGIT_BLOCK) {
          if (zk_stopped(ctx->stop)) {
              atomic_store(&ctx->err, ZK_ECANCELLED);
              free(buckets);
              return;
          }
          size_t cnt = ctx->count - i0 < ZK_DIGIT_BLOCK ? ctx->count - i0 : ZK_DIGIT_BLOCK;
          zk_window_digits(ctx->scalars, i0, cnt, ctx->off[w], ctx->width[w], d);
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
 * current batch waits in a short queue for the next batch; when the queue is full, or x equals
 * the bucket's (doubling or cancellation), it goes into a per-bucket XYZZ fallback instead; the
 * bucket's value is the sum of both. The queue is bounded (a quarter of a batch), so inputs that
 * pile into one bucket (witnesses full of ones) cost no more than plain XYZZ. */
#define ZK_ST_FULL 1
#define ZK_ST_BATCH 2
#define ZK_ST_FB 4

/* The batch inversions (Montgomery's trick) run over "keys" of type BI_T: the elements d
 * themselves over Fp, their norms over Fp2. For d = d0 + d1 u (u^2 = -1 on both curves),
 * 1/d = (d0 - d1 u) / N(d) with N(d) = d0^2 + d1^2 in Fp, so the prefix products and the one
 * inversion are in Fp: per element 3 Fp products for the trick + 2 squarings for N + 2 products
 * for conj(d) / N, about 7 instead of 3 Fp2 products (9 Fp). N(d) != 0 for d != 0, as -1 is
 * not a square mod p (p = 3 mod 4 on both curves). BI_KEY(nk, d, k) is the key of d[k]: its
 * norm, kept in nk[k], over Fp2; d[k] itself over Fp (nk unused, NULL).
 * Products whose result only feeds further products (the running products, 1 / d over Fp, the
 * slope over Fp) are lazy (fields.h: below 2p, no final subtraction): 4 of the 6 per addition
 * over Fp; the rest, which meet additions, comparisons or the inversion, stay reduced. So are,
 * over Fp, the differences that only feed products (x - B.x, y - B.y, x1 - x3): a - b + p. */
#ifdef FB
#define BI_T FB_T
#define BIF(name) ZK_CAT3(FB, _, name)
#define ZK_BI_NORM 1
#define BI_KEY(nk, d, k) (&(nk)[k])
#define FE_MUL_LAM FEF(mul) /* Fp2: its additions need reduced inputs */
#define FE_SUB_LAZY FEF(sub)
ZK_INLINE void ECF(bi_norm)(BI_T *n, const FE_T *d) {
    BI_T t;
    BIF(sqr)(n, &d->c0);
    BIF(sqr)(&t, &d->c1);
    BIF(add)(n, n, &t);
}
#else
#define BI_T FE_T
#define BIF FEF
#define ZK_BI_NORM 0
#define BI_KEY(nk, d, k) ((void)(nk), &(d)[k])
#define FE_MUL_LAM FEF(mul_lazy) /* the slope only feeds products */
#define FE_SUB_LAZY FEF(sub_lazy) /* differences that only feed products */
ZK_INLINE void ECF(bi_norm)(BI_T *n, const FE_T *d) {
    (void)n; /* the key is d itself */
    (void)d;
}
#endif

/* One backward step of Montgomery's trick: ik = 1 / d from inv = 1 / (product of the keys up to
 * and including d's) and acc = the product of the keys before d's, both within d's chain (see
 * bi_prefix2); then inv /= key. */
ZK_INLINE void ECF(bi_step)(FE_T *ik, BI_T *inv, const BI_T *acc, const BI_T *key, const FE_T *d) {
#ifdef FB
    BI_T in, t;
    BIF(mul_lazy)(&in, inv, acc);
    BIF(mul_lazy)(inv, inv, key);
    BIF(mul)(&ik->c0, &d->c0, &in);
    BIF(mul)(&t, &d->c1, &in);
    BIF(neg)(&ik->c1, &t);
#else
    (void)d;
    FEF(mul_lazy)(ik, inv, acc);
    FEF(mul_lazy)(inv, inv, key);
#endif
}

typedef struct {
    ECF(aff) *bk;
    ECF(xyzz) *fb;
    uint8_t *st;
    FE_T *px, *py, *dx;
    BI_T *acc, *nk; /* prefix products of the keys, norms of dx (Fp2 only) */
    uint32_t *bi;
    int nbatch, cap;
    ECF(aff) *qp; /* queued points (ba_put) and their buckets */
    uint32_t *qb;
    int nq, qcap;
    /* Reduction scratch (ba_reduce), nb entries each: converted fallback points, the
     * segments' running and weighted sums (2K <= nb), batch pointers and products. */
    ECF(aff) *cv, *seg;
    ECF(aff) **bt;
    const ECF(aff) **bp;
    FE_T *rdx;
    BI_T *racc, *rnk;
    int *ridx;
} ECF(ba_state);

/* B += (x, y) (affine), given ik = 1 / (x - B.x): the last steps of an affine addition. */
ZK_INLINE void ECF(aff_add_inv)(ECF(aff) *B, const FE_T *x, const FE_T *y, const FE_T *ik) {
    FE_T lam, t;
    FE_SUB_LAZY(&lam, y, &B->y);
    FE_MUL_LAM(&lam, &lam, ik);
    FEF(sqr)(&t, &lam);
    FEF(sub)(&t, &t, &B->x);
    FEF(sub)(&t, &t, x);           /* x3 */
    FE_SUB_LAZY(&B->x, &B->x, &t); /* x1 - x3 */
    FEF(mul)(&lam, &lam, &B->x);
    FEF(sub)(&B->y, &lam, &B->y);
    B->x = t;
}

/* B += (x, y) and B2 += (x2, y2) (B != B2), given ik = 1 / (x - B.x) and ik2 = 1 / (x2 - B2.x):
 * two aff_add_inv with their statements interleaved by hand, as each is a chain of dependent
 * multiplications too long for the CPU to overlap with the next one by itself. */
ZK_INLINE void ECF(aff_add_inv2)(ECF(aff) *B, const FE_T *x, const FE_T *y, const FE_T *ik,
                                 ECF(aff) *B2, const FE_T *x2, const FE_T *y2, const FE_T *ik2) {
    FE_T lam, t, lam2, t2;
    FE_SUB_LAZY(&lam, y, &B->y);
    FE_SUB_LAZY(&lam2, y2, &B2->y);
    FE_MUL_LAM(&lam, &lam, ik);
    FE_MUL_LAM(&lam2, &lam2, ik2);
    FEF(sqr)(&t, &lam);
    FEF(sqr)(&t2, &lam2);
    FEF(sub)(&t, &t, &B->x);
    FEF(sub)(&t2, &t2, &B2->x);
    FEF(sub)(&t, &t, x);        /* x3 */
    FEF(sub)(&t2, &t2, x2);
    FE_SUB_LAZY(&B->x, &B->x, &t); /* x1 - x3 */
    FE_SUB_LAZY(&B2->x, &B2->x, &t2);
    FEF(mul)(&lam, &lam, &B->x);
    FEF(mul)(&lam2, &lam2, &B2->x);
    FEF(sub)(&B->y, &lam, &B->y);
    FEF(sub)(&B2->y, &lam2, &B2->y);
    B->x = t;
    B2->x = t2;
}

/* The forward half of Montgomery's trick over the keys of d[0..n), n >= 1, as two prefix chains
 * (even and odd k): each product waits for the one before it in its chain, so a single chain
 * runs at the latency of a product, two in step overlap. acc[k] = the product of the keys
 * before k's in its chain; inv[j] = 1 / (product of chain j), both from one inversion:
 * 1 / P0 = P1 / (P0 P1) and the other way round. The norms (G2), independent of each other,
 * fill the latency too. */
ZK_INLINE void ECF(bi_prefix2)(BI_T *acc, BI_T *nk, FE_T *d, int n, BI_T *inv) {
    BI_T run[2], tot;
    BIF(set_one)(&run[0]);
    BIF(set_one)(&run[1]);
    int k = 0;
    for (; k + 1 < n; k += 2) {
        ECF(bi_norm)(BI_KEY(nk, d, k), &d[k]);
        ECF(bi_norm)(BI_KEY(nk, d, k + 1), &d[k + 1]);
        acc[k] = run[0];
        acc[k + 1] = run[1];
        BIF(mul_lazy)(&run[0], &run[0], BI_KEY(nk, d, k));
        BIF(mul_lazy)(&run[1], &run[1], BI_KEY(nk, d, k + 1));
    }
    if (k < n) {
        ECF(bi_norm)(BI_KEY(nk, d, k), &d[k]);
        acc[k] = run[0];
        BIF(mul_lazy)(&run[0], &run[0], BI_KEY(nk, d, k));
    }
    BIF(mul)(&tot, &run[0], &run[1]); /* reduced: the inversion needs it below p */
    BIF(inv)(&tot, &tot);
    BIF(mul_lazy)(&inv[0], &tot, &run[1]);
    BIF(mul_lazy)(&inv[1], &tot, &run[0]);
}

static void ECF(ba_flush)(ECF(ba_state) *s) {
    if (!s->nbatch) return;
    BI_T inv[2];
    FE_T ik, ik2;
    ECF(bi_prefix2)(s->acc, s->nk, s->dx, s->nbatch, inv);
    /* Two additions per step, k and k - 1, which lie in different chains (so their updates of
     * inv are independent too). */
    int k = s->nbatch - 1;
    for (; k >= 1; k -= 2) {
        if (k >= 3) {
            __builtin_prefetch(&s->bk[s->bi[k - 2]], 1);
            __builtin_prefetch(&s->bk[s->bi[k - 3]], 1);
        }
        ECF(bi_step)(&ik, &inv[k & 1], &s->acc[k], BI_KEY(s->nk, s->dx, k), &s->dx[k]);
        ECF(bi_step)(&ik2, &inv[(k - 1) & 1], &s->acc[k - 1], BI_KEY(s->nk, s->dx, k - 1),
                     &s->dx[k - 1]);
        ECF(aff_add_inv2)(&s->bk[s->bi[k]], &s->px[k], &s->py[k], &ik, &s->bk[s->bi[k - 1]],
                          &s->px[k - 1], &s->py[k - 1], &ik2);
        s->st[s->bi[k]] &= (uint8_t)~ZK_ST_BATCH;
        s->st[s->bi[k - 1]] &= (uint8_t)~ZK_ST_BATCH;
    }
    if (k == 0) {
        ECF(bi_step)(&ik, &inv[0], &s->acc[0], BI_KEY(s->nk, s->dx, 0), &s->dx[0]);
        ECF(aff_add_inv)(&s->bk[s->bi[0]], &s->px[0], &s->py[0], &ik);
        s->st[s->bi[0]] &= (uint8_t)~ZK_ST_BATCH;
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

/* bk[b] += (x, y). A point whose bucket is already in the batch waits in a short queue (when
 * may_queue and the queue has room) for the next batch: the XYZZ fallback costs about 10
 * products against 6. Equal x (doubling or cancellation) always takes the fallback. */
ZK_INLINE void ECF(ba_put)(ECF(ba_state) *s, size_t b, const FE_T *x, const FE_T *y,
                           const int may_queue) {
    uint8_t st = s->st[b];
    if (!(st & ZK_ST_FULL)) {
        s->bk[b].x = *x;
        s->bk[b].y = *y;
        s->st[b] = st | ZK_ST_FULL;
        return;
    }
    if (may_queue && (st & ZK_ST_BATCH) && s->nq < s->qcap) {
        int q = s->nq++;
        s->qb[q] = (uint32_t)b;
        s->qp[q].x = *x;
        s->qp[q].y = *y;
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
    FE_SUB_LAZY(&s->dx[k], x, &s->bk[b].x);
    s->st[b] = st | ZK_ST_BATCH;
}

/* Flush the batch, then move the queue into the emptied batch (qcap < cap, so it fits; a
 * second queued point for one bucket takes the fallback). */
static void ECF(ba_flush_drain)(ECF(ba_state) *s) {
    ECF(ba_flush)(s);
    int nq = s->nq;
    s->nq = 0;
    for (int q = 0; q < nq; q++) ECF(ba_put)(s, s->qb[q], &s->qp[q].x, &s->qp[q].y, 0);
}

ZK_INLINE void ECF(ba_add)(ECF(ba_state) *s, size_t b, const FE_T *x, const FE_T *y) {
    ECF(ba_put)(s, b, x, y, 1);
    if (s->nbatch == s->cap) ECF(ba_flush_drain)(s);
}

/* T[i] += P[i] for i < m, affine, the T[i] distinct and none aliasing a P[j]. The general case
 * shares one inversion (Montgomery's trick); infinity, equal and opposite points are settled on
 * the spot (a doubling costs its own inversion, but only equal points reach it). */
static void ECF(aff_add_batch)(ECF(aff) *const *T, const ECF(aff) *const *P, int m, BI_T *acc,
                               BI_T *nk, FE_T *dx, int *idx) {
    int nb = 0;
    for (int i = 0; i < m; i++) {
        ECF(aff) *t = T[i];
        const ECF(aff) *p = P[i];
        if (ECF(aff_is_inf)(p)) continue;
        if (ECF(aff_is_inf)(t)) {
            *t = *p;
            continue;
        }
        if (FEF(eq)(&t->x, &p->x)) {
            if (FEF(eq)(&t->y, &p->y) && !FEF(is_zero)(&t->y)) {
                ECF(xyzz) d;
                ECF(xyzz_mdbl)(&d, &t->x, &t->y);
                ECF(xyzz_to_aff)(t, &d);
            } else {
                memset(t, 0, sizeof *t); /* P + (-P) */
            }
            continue;
        }
        FE_SUB_LAZY(&dx[nb], &p->x, &t->x);
        idx[nb++] = i;
    }
    if (!nb) return;
    BI_T inv[2];
    FE_T ik, ik2;
    ECF(bi_prefix2)(acc, nk, dx, nb, inv);
    /* Two additions per step, from different chains, as in ba_flush. */
    int k = nb - 1;
    for (; k >= 1; k -= 2) {
        ECF(bi_step)(&ik, &inv[k & 1], &acc[k], BI_KEY(nk, dx, k), &dx[k]);
        ECF(bi_step)(&ik2, &inv[(k - 1) & 1], &acc[k - 1], BI_KEY(nk, dx, k - 1), &dx[k - 1]);
        const ECF(aff) *p = P[idx[k]], *p2 = P[idx[k - 1]];
        ECF(aff_add_inv2)(T[idx[k]], &p->x, &p->y, &ik, T[idx[k - 1]], &p2->x, &p2->y, &ik2);
    }
    if (k == 0) {
        ECF(bi_step)(&ik, &inv[0], &acc[0], BI_KEY(nk, dx, 0), &dx[0]);
        const ECF(aff) *p = P[idx[0]];
        ECF(aff_add_inv)(T[idx[0]], &p->x, &p->y, &ik);
    }
}

/* Fold the XYZZ fallback parts into the affine buckets (bk[b] = sum of both, infinity for an
 * empty bucket): the fallbacks go to affine with one shared inversion of ZZ * ZZZ each
 * (1/ZZ = ZZZ / (ZZ ZZZ), 1/ZZZ = ZZ / (ZZ ZZZ)), then one batch of affine additions. */
static void ECF(ba_fold)(ECF(ba_state) *s, size_t nb) {
    int m = 0;
    BI_T run, inv;
    FE_T ik, t;
    BIF(set_one)(&run);
    for (size_t b = 0; b < nb; b++) {
        uint8_t st = s->st[b];
        if (!(st & ZK_ST_FULL)) memset(&s->bk[b], 0, sizeof s->bk[b]);
        if (!(st & ZK_ST_FB) || ECF(xyzz_is_inf)(&s->fb[b])) continue;
        s->ridx[m] = (int)b;
        s->racc[m] = run;
        FEF(mul)(&s->rdx[m], &s->fb[b].ZZ, &s->fb[b].ZZZ);
        ECF(bi_norm)(BI_KEY(s->rnk, s->rdx, m), &s->rdx[m]);
        BIF(mul)(&run, &run, BI_KEY(s->rnk, s->rdx, m));
        m++;
    }
    if (!m) return;
    BIF(inv)(&inv, &run);
    for (int k = m - 1; k >= 0; k--) {
        const ECF(xyzz) *f = &s->fb[s->ridx[k]];
        /* ik = 1 / (ZZ ZZZ) */
        ECF(bi_step)(&ik, &inv, &s->racc[k], BI_KEY(s->rnk, s->rdx, k), &s->rdx[k]);
        FEF(mul)(&t, &ik, &f->ZZZ);
        FEF(mul)(&s->cv[k].x, &f->X, &t);
        FEF(mul)(&t, &ik, &f->ZZ);
        FEF(mul)(&s->cv[k].y, &f->Y, &t);
        s->bt[k] = &s->bk[s->ridx[k]];
        s->bp[k] = &s->cv[k];
    }
    ECF(aff_add_batch)(s->bt, s->bp, m, s->racc, s->rnk, s->rdx, s->ridx);
}

/* Sum of (b + 1) * bk[b] over nb = K * L buckets, in batch-affine form: bucket b = s L + j lies
 * in segment s; walking j down, every segment updates its running sum R_s += B and its weighted
 * sum T_s += R_s, the K segments sharing one inversion per step. Then the total is
 * sum_s T_s + L * sum_s s R_s, the last sum by an XYZZ running sum over the K segments. About 12
 * multiplications per bucket instead of 26 for the XYZZ running sum. */
static void ECF(ba_reduce)(ECF(ba_state) *s, size_t nb, ECF(xyzz) *out) {
    ECF(ba_fold)(s, nb);
    const int K = (int)(nb / ZK_SEG_LEN), L = ZK_SEG_LEN;
    ECF(aff) *R = s->seg, *T = s->seg + K;
    memset(s->seg, 0, 2 * (size_t)K * sizeof *s->seg);
    for (int j = L - 1; j >= 0; j--) {
        for (int k = 0; k < K; k++) {
            s->bt[k] = &R[k];
            s->bp[k] = &s->bk[(size_t)k * L + (size_t)j];
        }
        ECF(aff_add_batch)(s->bt, s->bp, K, s->racc, s->rnk, s->rdx, s->ridx);
        for (int k = 0; k < K; k++) {
            s->bt[k] = &T[k];
            s->bp[k] = &R[k];
        }
        ECF(aff_add_batch)(s->bt, s->bp, K, s->racc, s->rnk, s->rdx, s->ridx);
    }
    ECF(xyzz) sumT, run, acc;
    memset(&sumT, 0, sizeof sumT);
    memset(&run, 0, sizeof run);
    memset(&acc, 0, sizeof acc);
    for (int k = K - 1; k >= 0; k--) {
        if (!ECF(aff_is_inf)(&T[k])) ECF(xyzz_madd)(&sumT, &T[k].x, &T[k].y);
        if (k == 0) break;
        if (!ECF(aff_is_inf)(&R[k])) ECF(xyzz_madd)(&run, &R[k].x, &R[k].y);
        ECF(xyzz_add)(&acc, &acc, &run);
    }
    for (int l = L; l > 1; l >>= 1) ECF(xyzz_dbl)(&acc, &acc);
    ECF(xyzz_add)(out, &acc, &sumT);
}

static void ECF(msm_worker_ba)(void *vctx, int t, int nt) {
    (void)t;
    (void)nt;
    ECF(msm_ctx) *ctx = vctx;
    const size_t nb = (size_t)1 << (ctx->c - 1); /* the widest window's buckets */
    ECF(ba_state) s;
    const int cap_max = (int)(nb / 4 < ZK_BA_CAP ? nb / 4 : ZK_BA_CAP);
    s.cap = cap_max < 1 ? 1 : cap_max;
    s.nbatch = 0;
    s.nq = 0;
    s.qcap = s.cap / 4;
    s.qp = malloc(((size_t)s.qcap + 1) * sizeof *s.qp);
    s.qb = malloc(((size_t)s.qcap + 1) * sizeof *s.qb);
    s.bk = malloc(nb * sizeof *s.bk);
    s.fb = malloc(nb * sizeof *s.fb);
    s.st = malloc(nb);
    s.px = malloc((size_t)s.cap * sizeof(FE_T));
    s.py = malloc((size_t)s.cap * sizeof(FE_T));
    s.dx = malloc((size_t)s.cap * sizeof(FE_T));
    s.acc = malloc((size_t)s.cap * sizeof(BI_T));
    s.nk = ZK_BI_NORM ? malloc((size_t)s.cap * sizeof(BI_T)) : NULL;
    s.bi = malloc((size_t)s.cap * sizeof(uint32_t));
    const int seg = nb >= ZK_SEG_MIN_BUCKETS;
    s.cv = seg ? malloc(nb * sizeof *s.cv) : NULL;
    s.seg = seg ? malloc(nb * sizeof *s.seg) : NULL;
    s.bt = seg ? malloc(nb * sizeof *s.bt) : NULL;
    s.bp = seg ? malloc(nb * sizeof *s.bp) : NULL;
    s.racc = seg ? malloc(nb * sizeof *s.racc) : NULL;
    s.rnk = seg && ZK_BI_NORM ? malloc(nb * sizeof *s.rnk) : NULL;
    s.rdx = seg ? malloc(nb * sizeof *s.rdx) : NULL;
    s.ridx = seg ? malloc(nb * sizeof *s.ridx) : NULL;
    if (!s.qp || !s.qb || !s.bk || !s.fb || !s.st || !s.px || !s.py || !s.dx || !s.acc || !s.bi ||
        (ZK_BI_NORM && !s.nk) ||
        (seg && (!s.cv || !s.seg || !s.bt || !s.bp || !s.racc || !s.rdx || !s.ridx ||
                 (ZK_BI_NORM && !s.rnk)))) {
        atomic_store(&ctx->err, ZK_ENOMEM);
        goto out;
    }
    for (;;) {
        int w = atomic_fetch_add(&ctx->next, 1);
        if (w >= ctx->W) break;
        const size_t nbw = (size_t)1 << (ctx->width[w] - 1); /* this window's buckets */
        const int capw = (int)(nbw / 4 < (size_t)cap_max ? nbw / 4 : (size_t)cap_max);
        s.cap = capw < 1 ? 1 : capw; /* a quarter of the buckets at most, as for the widest */
        s.qcap = s.cap / 4;
        memset(s.st, 0, nbw);
        int16_t d[ZK_DIGIT_BLOCK];
        for (size_t i0 = 0; i0 < ctx->count; i0 += ZK_DIGIT_BLOCK) {
          if (zk_stopped(ctx->stop)) {
              atomic_store(&ctx->err, ZK_ECANCELLED);
              goto out;
          }
          size_t cnt = ctx->count - i0 < ZK_DIGIT_BLOCK ? ctx->count - i0 : ZK_DIGIT_BLOCK;
          zk_window_digits(ctx->scalars, i0, cnt, ctx->off[w], ctx->width[w], d);
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
        ECF(ba_flush_drain)(&s);
        ECF(ba_flush)(&s);
        if (seg && nbw >= ZK_SEG_MIN_BUCKETS) {
            ECF(ba_reduce)(&s, nbw, &ctx->sums[w]);
            continue;
        }
        ECF(xyzz) running, sum;
        memset(&running, 0, sizeof running);
        memset(&sum, 0, sizeof sum);
        for (size_t k = nbw; k-- > 0;) {
            uint8_t st = s.st[k];
            if (st & ZK_ST_FULL) ECF(xyzz_madd)(&running, &s.bk[k].x, &s.bk[k].y);
            if (st & ZK_ST_FB) ECF(xyzz_add)(&running, &running, &s.fb[k]);
            ECF(xyzz_add)(&sum, &sum, &running);
        }
        ctx->sums[w] = sum;
    }
out:
    free(s.qp);
    free(s.qb);
    free(s.bk);
    free(s.fb);
    free(s.st);
    free(s.px);
    free(s.py);
    free(s.dx);
    free(s.acc);
    free(s.nk);
    free(s.bi);
    free(s.cv);
    free(s.seg);
    free(s.bt);
    free(s.bp);
    free(s.racc);
    free(s.rnk);
    free(s.rdx);
    free(s.ridx);
}

static int ECF(msm)(const uint8_t *table, size_t count, const uint8_t *scalars, int c, int W,
                    const int *width, const int *off, int threads, int batch_affine,
                    const int *stop, uint8_t *out) {
    ECF(msm_ctx) ctx;
    ctx.pts = (const ECF(aff) *)(const void *)table;
    ctx.count = count;
    ctx.scalars = scalars;
    ctx.c = c;
    ctx.W = W;
    ctx.width = width;
    ctx.off = off;
    ctx.stop = stop;
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
        for (int k = 0; k < width[w]; k++) ECF(xyzz_dbl)(&acc, &acc);
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
#undef BI_T
#undef BIF
#undef ZK_BI_NORM
#undef BI_KEY
#undef FE_MUL_LAM
#undef FE_SUB_LAZY
#ifdef FB
#undef FB
#undef FB_T
#endif

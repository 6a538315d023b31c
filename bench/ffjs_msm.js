// Reference MSM for bench/msm.py: ffjavascript's BN254 G1 multiExpAffine, single-threaded.
//
// usage: node bench/ffjs_msm.js BASES SCALARS SIZES REPEATS
//   BASES    file of affine G1 points, 64 bytes each: x || y little-endian Montgomery form
//            (zkedge's "mont" encoding = the snarkjs .zkey layout = ffjavascript's own)
//   SCALARS  file of 32-byte little-endian scalars
//   SIZES    comma-separated point counts (prefixes of both files)
//   REPEATS  timed runs per size (the best is reported), after one warm-up at the smallest size
// Prints one JSON line per size: {"n", "ms", "cpu_ms", "result"}: best wall time, best process
// CPU time (user + system; robust on a busy machine), and the affine result as big-endian
// x || y hex (ffjavascript's uncompressed form) for a cross-check.
"use strict";

const fs = require("fs");
const { performance } = require("perf_hooks");
const { buildBn128 } = require("ffjavascript");

async function main() {
    const [basesPath, scalarsPath, sizesArg, repeatsArg] = process.argv.slice(2);
    if (!sizesArg) {
        console.error("usage: node ffjs_msm.js BASES SCALARS SIZES REPEATS");
        process.exit(2);
    }
    const bases = fs.readFileSync(basesPath);
    const scalars = fs.readFileSync(scalarsPath);
    const sizes = sizesArg.split(",").map(Number);
    const repeats = Math.max(1, Number(repeatsArg || 1));
    const curve = await buildBn128(true); // singleThread: no worker threads
    const G1 = curve.G1;
    const view = (buf, len) => new Uint8Array(buf.buffer, buf.byteOffset, len);

    await G1.multiExpAffine(view(bases, 64 * sizes[0]), view(scalars, 32 * sizes[0]));
    for (const n of sizes) {
        if (64 * n > bases.length || 32 * n > scalars.length) throw new Error(`files too short for n=${n}`);
        const b = view(bases, 64 * n);
        const s = view(scalars, 32 * n);
        let best = Infinity;
        let bestCpu = Infinity;
        let res = null;
        for (let i = 0; i < repeats; i++) {
            const t0 = performance.now();
            const c0 = process.cpuUsage();
            res = await G1.multiExpAffine(b, s);
            const c1 = process.cpuUsage(c0);
            best = Math.min(best, performance.now() - t0);
            bestCpu = Math.min(bestCpu, (c1.user + c1.system) / 1000);
        }
        const out = new Uint8Array(64);
        if (!G1.isZero(res)) G1.toRprUncompressed(out, 0, res);
        console.log(JSON.stringify({ n, ms: best, cpu_ms: bestCpu, result: Buffer.from(out).toString("hex") }));
    }
    if (curve.terminate) await curve.terminate();
}

main().catch((e) => {
    console.error(e && e.stack ? e.stack : String(e));
    process.exit(1);
});

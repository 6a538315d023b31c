// Compile a Groth16Verifier contract with solc and call its verifyProof in an in-memory EVM.
//
//   node run_verifier.mjs verifier.sol < calls.json
//
// calls.json is a list of calldata strings as `zkey export soliditycalldata` prints them;
// the output is one JSON object: {"results": [true|false|"revert", ...], "gas": [...]}.
// Run with NODE_PATH pointing at tests/fixtures/node_modules.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.NODE_PATH + "/");
const solc = require("solc");
const { createEVM } = await import(require.resolve("@ethereumjs/evm"));
const util = await import(require.resolve("@ethereumjs/util"));

const source = readFileSync(process.argv[2], "utf8");
const compiled = JSON.parse(
  solc.compile(
    JSON.stringify({
      language: "Solidity",
      sources: { "verifier.sol": { content: source } },
      settings: {
        optimizer: { enabled: true, runs: 200 },
        outputSelection: {
          "*": { "*": ["abi", "evm.deployedBytecode.object", "evm.methodIdentifiers"] },
        },
      },
    }),
  ),
);
const errors = (compiled.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  console.log(JSON.stringify({ compile_errors: errors.map((e) => e.formattedMessage) }));
  process.exit(3);
}
const [contract] = Object.values(compiled.contracts["verifier.sol"]);
const [selectorHex] = Object.entries(contract.evm.methodIdentifiers)
  .filter(([sig]) => sig.startsWith("verifyProof("))
  .map(([, id]) => id);
const selector = util.hexToBytes("0x" + selectorHex);

// verifyProof's arguments are all static: the selector, then uint256 words in order

function encode(calldata) {
  const words = JSON.parse(`[${calldata}]`).flat(3).map((h) => BigInt(h));
  const out = new Uint8Array(4 + 32 * words.length);
  out.set(selector, 0);
  words.forEach((w, i) => {
    const hex = w.toString(16).padStart(64, "0");
    out.set(util.hexToBytes("0x" + hex), 4 + 32 * i);
  });
  return out;
}

const evm = await createEVM();
const address = util.createAddressFromString("0x00000000000000000000000000000000000000c0");
await evm.stateManager.putCode(address, util.hexToBytes("0x" + contract.evm.deployedBytecode.object));

const calls = JSON.parse(readFileSync(0, "utf8"));
const results = [];
const gas = [];
for (const calldata of calls) {
  const res = await evm.runCall({ to: address, data: encode(calldata), gasLimit: 10_000_000n });
  if (res.execResult.exceptionError) {
    results.push("revert");
  } else {
    const ret = res.execResult.returnValue;
    results.push(ret.length === 32 && ret[31] === 1);
  }
  gas.push(Number(res.execResult.executionGasUsed));
}
console.log(JSON.stringify({ results, gas }));

// Compiles the oracle contract with npm solc + @openzeppelin/contracts (standard JSON) and
// writes the ABI + bytecode artifact that the Python side loads and commits.
//   node contracts/build.mjs           writes contracts/artifacts/ResultOracle.json
//   node contracts/build.mjs --stdout  prints it instead (the reproducibility test compares)
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SOURCE = "contracts/src/ResultOracle.sol";
const NAME = "ResultOracle";

function findImports(path) {
  const base = path.startsWith("@openzeppelin/") ? join(root, "node_modules") : root;
  try {
    return { contents: readFileSync(join(base, path), "utf8") };
  } catch (error) {
    return { error: `not found: ${path}` };
  }
}

const input = {
  language: "Solidity",
  sources: { [SOURCE]: { content: readFileSync(join(root, SOURCE), "utf8") } },
  settings: {
    optimizer: { enabled: true, runs: 10000 },
    evmVersion: "cancun",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const message of output.errors || []) process.stderr.write(message.formattedMessage + "\n");
if (errors.length) process.exit(1);
const compiled = output.contracts[SOURCE][NAME];
const artifact = {
  contractName: NAME,
  source: SOURCE,
  compiler: `solc ${solc.version()}`,
  settings: { optimizer: input.settings.optimizer, evmVersion: input.settings.evmVersion },
  abi: compiled.abi,
  bytecode: "0x" + compiled.evm.bytecode.object,
};
const text = JSON.stringify(artifact, null, 2) + "\n";
if (process.argv.includes("--stdout")) {
  process.stdout.write(text);
} else {
  writeFileSync(join(root, "contracts/artifacts", `${NAME}.json`), text);
}

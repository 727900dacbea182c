// Generates src/gen from ../protos with the repository's own buf (root node_modules). The output
// is git-ignored: `npm run build` regenerates it, so it can never drift from the contracts.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const buf = join(web, "..", "node_modules", ".bin", "buf");
if (!existsSync(buf)) {
  console.error(`buf not found at ${buf}: run ./scripts/bootstrap.sh from the repository root`);
  process.exit(1);
}
const run = spawnSync(buf, ["generate", "--template", "buf.gen.yaml"], { cwd: web, stdio: "inherit" });
process.exit(run.status ?? 1);

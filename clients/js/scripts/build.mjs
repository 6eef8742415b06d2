// Builds the browser bundles and copies them where the Python package serves them.
//
//   node scripts/build.mjs          write dist/ and src/jobgate/web/assets/
//   node scripts/build.mjs --check  exit 1 if the committed assets differ from a fresh build
//
// The assets are committed so that `pip install jobgate` needs no Node. The
// build is deterministic (pinned esbuild, fixed working dir, no minify, no
// timestamps), which is what makes --check meaningful.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const assetsDir = resolve(root, "../../src/jobgate/web/assets");

const banner =
  "// Generated from clients/js by `npm run build`. Do not edit; edit the TypeScript source.";

// The demo app imports the client by this name; in the browser it is the sibling bundle.
const clientAsSibling = {
  name: "client-as-sibling",
  setup(build) {
    build.onResolve({ filter: /^jobgate-client$/ }, () => ({
      path: "./jobgate-client.js",
      external: true,
    }));
  },
};

const common = {
  absWorkingDir: root,
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  charset: "utf8",
  legalComments: "none",
  banner: { js: banner },
  write: false,
  logLevel: "silent",
};

/** Every bundle as {name, text}: name is the file name under assets/. */
export async function buildBundles() {
  const [client, app, admin] = await Promise.all([
    esbuild.build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/jobgate-client.js" }),
    esbuild.build({
      ...common,
      entryPoints: ["demo/app.ts"],
      outfile: "dist/app.js",
      plugins: [clientAsSibling],
    }),
    // The operator console (/admin): its own bundle, it needs nothing of the client.
    esbuild.build({ ...common, entryPoints: ["admin/app.ts"], outfile: "dist/admin.js" }),
  ]);
  return [
    { name: "jobgate-client.js", text: client.outputFiles[0].text },
    { name: "app.js", text: app.outputFiles[0].text },
    { name: "admin.js", text: admin.outputFiles[0].text },
  ];
}

/** Names of committed assets that differ from a fresh build. */
export async function staleAssets() {
  const stale = [];
  for (const { name, text } of await buildBundles()) {
    let committed = "";
    try {
      committed = readFileSync(join(assetsDir, name), "utf8");
    } catch {
      // missing counts as stale
    }
    if (committed !== text) stale.push(name);
  }
  return stale;
}

async function main() {
  if (process.argv.includes("--check")) {
    const stale = await staleAssets();
    if (stale.length) {
      console.error(
        `stale in ${relative(process.cwd(), assetsDir)}: ${stale.join(", ")}; run npm run build`,
      );
      process.exit(1);
    }
    console.log("assets up to date");
    return;
  }
  mkdirSync(join(root, "dist"), { recursive: true });
  mkdirSync(assetsDir, { recursive: true });
  for (const { name, text } of await buildBundles()) {
    writeFileSync(join(assetsDir, name), text);
    // dist/ holds the npm entry point; the demo app and console are only for the Python package.
    if (name === "jobgate-client.js") writeFileSync(join(root, "dist", name), text);
  }
  console.log(`built ${relative(process.cwd(), assetsDir)}/{jobgate-client.js,app.js,admin.js}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}

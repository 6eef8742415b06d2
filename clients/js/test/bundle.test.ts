import { expect, it } from "vitest";
import { staleAssets } from "../scripts/build.mjs";

// The Python package serves the committed bundles; they must match the source.
it("committed assets match a fresh build (run `npm run build` if not)", async () => {
  expect(await staleAssets()).toEqual([]);
}, 30_000);

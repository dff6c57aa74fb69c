import { fileURLToPath } from "node:url";
import { defineConfig, type UserConfig } from "vitest/config";

const src = (pkg: string, file = "index.ts") =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${file}`, import.meta.url));

/**
 * Tests run against the packages' sources, so a change in core is seen by every adapter's
 * tests without a rebuild. The published `exports` maps (checked by publint) point at dist/.
 */
export function porterVitestConfig(overrides: UserConfig["test"] = {}): UserConfig {
  return defineConfig({
    resolve: {
      alias: [
        { find: /^@porter\/core\/conformance$/, replacement: src("core", "conformance/index.ts") },
        { find: /^@porter\/core$/, replacement: src("core") },
        { find: /^@porter\/(redis|postgres|mongo|dynamo|file|cookie|express)$/, replacement: src("$1") },
      ],
    },
    test: {
      include: ["test/**/*.test.ts"],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      pool: "forks",
      ...overrides,
    },
  });
}

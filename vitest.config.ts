import { defineConfig } from "vitest/config";

// Workspace packages export their TypeScript source under the "source" condition,
// so tests run against src/ without a build in between.
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          // test/host: real host tools (e2fsprogs, qemu-img), no VM. test/docs: docs/ and the
          // READMEs against the code (`pnpm docs` rewrites the generated parts).
          include: [
            "packages/*/src/**/*.test.ts",
            "apps/*/src/**/*.test.ts",
            "test/host/**/*.test.ts",
            "test/docs/**/*.test.ts",
          ],
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/**/*.test.ts"],
          exclude: ["test/host/**", "test/docs/**", "**/node_modules/**"],
          globalSetup: ["test/support/global-setup.ts"],
          // VM tests boot real guests under TCG: one file at a time on a 2-core machine.
          fileParallelism: false,
          testTimeout: 900_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});

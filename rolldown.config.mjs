// The published JavaScript: one module graph per public entry instead of ~100 files, so
// `import "switchboard"` resolves and compiles a handful of modules (DESIGN.md: under 100 ms).
// Dependencies and Node built-ins stay external; dynamic imports stay lazy (their own chunks).
// Types come from tsc (`tsconfig.build.json`, declarations only).
import { defineConfig } from "rolldown"

export default defineConfig({
  input: {
    index: "src/index.ts",
    "testing/index": "src/testing/index.ts",
    "restate/index": "src/engines/restate/index.ts",
    "cli/main": "src/cli/main.ts",
  },
  platform: "node",
  // Every bare specifier (a dependency, `node:…`) is loaded at run time, never bundled.
  external: (id) => !id.startsWith(".") && !id.startsWith("/") && !id.startsWith("\0"),
  output: {
    dir: "dist",
    format: "esm",
    sourcemap: true,
    entryFileNames: "[name].js",
    chunkFileNames: "chunks/[name]-[hash].js",
  },
})

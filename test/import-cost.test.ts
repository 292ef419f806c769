import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const run = promisify(execFile)

// What `import "switchboard"` loads decides its cold-start cost (DESIGN.md: under 100 ms); the
// benchmark measures the time, this test pins down the modules.
describe("import switchboard", () => {
  it("loads no provider SDK, database driver, tracer, graph library, HTTP framework, layout engine, MCP client, TypeScript loader, zod or Effect runtime", async () => {
    const probe = `
      import { registerHooks } from "node:module"
      const loaded = []
      registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result } })
      await import(${JSON.stringify(new URL("../src/index.ts", import.meta.url).href)})
      process.stdout.write(JSON.stringify(loaded))`
    const { stdout } = await run(process.execPath, ["--input-type=module", "--eval", probe])
    const loaded = JSON.parse(stdout) as string[]
    const heavy = loaded.filter(
      (url) =>
        /\/node_modules\/(openai|@anthropic-ai|pg|@opentelemetry|@xstate\/graph|@statelyai|zod|hono|@hono|elkjs|@modelcontextprotocol|@ai-sdk|ai|tsx)\//.test(
          url,
        ) ||
        url.endsWith("/effect/dist/Effect.js") ||
        url === "node:sqlite",
    )
    expect(heavy).toEqual([])
    // the probe would have seen them: xstate itself is loaded
    expect(loaded.some((url) => url.includes("/node_modules/xstate/"))).toBe(true)
  })
})

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { RestateServerError, restateServerBinary, startRestateServer } from "../../src/engines/restate/index.ts"
import { skipReason } from "./support.ts"

const reason = skipReason()
const folder = mkdtempSync(join(tmpdir(), "switchboard-restate-start-"))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

// A server binary that exits at its first start (as when another process took its port between
// the pick and the bind), then starts for real.
const flaky = (failures: number) => {
  const script = join(folder, `flaky-${failures}.sh`)
  const count = join(folder, `count-${failures}`)
  writeFileSync(
    script,
    `#!/bin/sh\nn=$(cat "${count}" 2>/dev/null || echo 0)\necho $((n + 1)) > "${count}"\nif [ "$n" -lt ${failures} ]; then echo "Address already in use (os error 98)"; exit 1; fi\nexec "${restateServerBinary()}" "$@"\n`,
  )
  chmodSync(script, 0o755)
  return script
}

describe.skipIf(reason !== undefined)(`startRestateServer at start${reason === undefined ? "" : ` (skipped: ${reason})`}`, () => {
  it("tries a node that exits at start again on new ports", { timeout: 60_000 }, async () => {
    const server = await startRestateServer({ binary: flaky(1) })
    try {
      expect((await fetch(`${server.adminUrl}/health`)).ok).toBe(true)
    } finally {
      await server.stop()
    }
  })

  it("gives up after three starts, with the server's own last words in the message", { timeout: 60_000 }, async () => {
    const failing = startRestateServer({ binary: flaky(5) })
    await expect(failing).rejects.toBeInstanceOf(RestateServerError)
    await expect(failing).rejects.toThrow(/Address already in use/)
  })
})

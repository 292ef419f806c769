// Two reviewers in parallel beside a slow non-idempotent effect (it appends a line to a log): the
// kill -9 test of decisions delivered one after another from a process that dies in between.
import { appendFileSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import { fn, human, parallel, pipeline } from "../../src/index.ts"

const Verdict = z.object({ approve: z.boolean() })

export const reviews = (logs: string) =>
  pipeline({ id: "decide-crash", input: z.object({ doc: z.string() }) })
    .step(
      "work",
      parallel({
        branches: {
          legal: human({ decision: Verdict }),
          tech: human({ decision: Verdict }),
          index: fn(async ({ input }) => {
            await new Promise((resolve) => setTimeout(resolve, 20))
            appendFileSync(join(logs, "effects.log"), `${input.doc}\n`)
            return "indexed"
          }),
        },
      }),
    )
    .step(
      "publish",
      fn(({ steps }) => `${steps.work?.legal.approve}/${steps.work?.tech.approve}/${steps.work?.index}`),
    )
    .edges({ work: "publish", publish: "done" })

// A pipeline that pauses on a person: what the studio tests start, list, open and decide.
import { z } from "zod"
import { fn, human, pipeline, route } from "../../src/index.ts"

/** Drafts a refund, waits for a review (approve, and a note of two characters or more), then pays or stops. */
const Review = z.object({ approve: z.boolean(), note: z.string().min(2) })
export const refunds = pipeline({ id: "refunds", input: z.object({ amount: z.number() }) })
  .step(
    "draft",
    fn(({ input }) => `refund ${input.amount}`),
  )
  .step("review", human({ decision: Review, timeout: "24h", prompt: ({ steps }) => `Approve "${steps.draft}"?` }))
  .step(
    "pay",
    fn(({ steps }) => `paid: ${steps.draft} (${steps.review?.note})`),
  )
  .edges({ draft: "review", review: { next: route(["pay", "done"], ({ output }) => (output.approve ? "pay" : "done")), timeout: "done" }, pay: "done" })

/** Whether {@link flaky}'s one step throws: a failure to retry once it is "fixed". */
export const flakiness = { failing: true }

/** One step that throws while `flakiness.failing`, so its run fails and a retry can finish it. */
export const flaky = pipeline({ id: "flaky", input: z.object({}) })
  .step(
    "work",
    fn(() => {
      if (flakiness.failing) throw new Error("the service is down")
      return "worked"
    }),
  )
  .edges({ work: "done" })

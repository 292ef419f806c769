import { describe, expectTypeOf, it } from "vitest"
import { restateClient } from "../../src/engines/restate/index.ts"
import type { RunResult } from "../../src/index.ts"
import { approval } from "./pipelines.ts"

const client = restateClient({ ingress: "http://127.0.0.1:8080" })
const reviewed = approval()

describe("restateClient types", () => {
  it("types inputs, human steps, decisions and results by the pipeline", () => {
    expectTypeOf(client.start(reviewed, { amount: 1 })).resolves.toEqualTypeOf<string>()
    // @ts-expect-error the input does not match the pipeline's schema
    void client.start(reviewed, { amount: "one" })
    expectTypeOf(client.decide(reviewed, "run-1", "review", { approve: true })).resolves.toBeVoid()
    // @ts-expect-error a decision of the wrong shape
    void client.decide(reviewed, "run-1", "review", { approve: "yes" })
    // @ts-expect-error a step the pipeline does not have
    void client.decide(reviewed, "run-1", "approve", { approve: true })
    type Steps = NonNullable<(typeof reviewed)["~steps"]>
    expectTypeOf(client.result(reviewed, "run-1")).resolves.toEqualTypeOf<RunResult<Steps>>()
    expectTypeOf(client.run(reviewed, { amount: 2 })).resolves.toEqualTypeOf<RunResult<Steps>>()
  })
})

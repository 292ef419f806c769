// Runs only the fn chain through switchboard, for `node --cpu-prof`:
// npx node --cpu-prof --cpu-prof-dir=/tmp/switchboard-profile bench/tools/profile-chain.ts [runs]
import { type AnyStep, fn } from "../../src/index.ts"
import { buildChain } from "../workloads/chain.ts"

const runs = Number(process.argv[2] ?? "3000")
const chain = buildChain(
  (index) => fn(({ steps }: { steps: Readonly<Record<string, unknown>> }) => (index === 0 ? 1 : (steps[`step${index - 1}`] as number) + 1)) as AnyStep,
)
const started = performance.now()
for (let run = 0; run < runs; run++) {
  const result = await chain.run({ seed: 1 })
  if (result.status !== "done") throw new Error(`chain ended ${result.status}`)
}
process.stdout.write(`${runs} runs, ${(((performance.now() - started) * 1000) / runs / 20).toFixed(2)} µs/step\n`)

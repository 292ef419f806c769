// Every workload `npm run bench` runs, in order. Add a workload by adding its file here.
import type { Workload } from "../measure.ts"
import { agentWorkload } from "./agent.ts"
import { agentJournalWorkload } from "./agent-journal.ts"
import { chainWorkload } from "./chain.ts"
import { concurrencyWorkload } from "./concurrency.ts"
import { crashWorkload } from "./crash.ts"
import { durabilityWorkload } from "./durability.ts"
import { evaluateWorkload } from "./evaluate.ts"
import { fanoutWorkload } from "./fanout.ts"
import { importWorkload } from "./import.ts"
import { modelLimitsWorkload } from "./model-limits.ts"
import { promptCacheWorkload } from "./prompt-cache.ts"
import { providerWorkload } from "./provider.ts"
import { responseCacheWorkload } from "./response-cache.ts"
import { restateWorkload } from "./restate.ts"
import { typecheckWorkload } from "./typecheck.ts"

/** The workloads of a full benchmark run. */
export const workloads: readonly Workload[] = [
  chainWorkload,
  importWorkload,
  providerWorkload,
  durabilityWorkload,
  crashWorkload,
  evaluateWorkload,
  concurrencyWorkload,
  typecheckWorkload,
  fanoutWorkload,
  agentWorkload,
  agentJournalWorkload,
  restateWorkload,
  promptCacheWorkload,
  responseCacheWorkload,
  modelLimitsWorkload,
]

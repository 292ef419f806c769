// A pipeline machine driven with plain XState (`createActor(p.machine)`) has no run around it, so
// nothing lends its steps their models; this lends them, as a run does (run/execution.ts).
import type { AnyActorRef } from "xstate"
import type { Models } from "../contract/model.ts"
import { defaultPrices, type PriceTable } from "./prices.ts"
import { attachServices, servicesFor } from "./services.ts"

/**
 * Gives an actor of a pipeline machine, created with XState's `createActor` and not yet started,
 * the models its steps call by alias (and, optionally, prices for their cost). Without it, an
 * `llm` or `agent` step of a raw actor fails with a `ConfigurationError`: "no model by that name".
 * Nothing is journaled: a raw actor has no journal (use `p.run` for a durable run).
 *
 * @example
 * import { createActor, toPromise } from "xstate"
 * const actor = withModels(createActor(triage.machine, { input: { input: { ticket: "hi" } } }), { fast: openai({ model: "gpt-4.1-mini" }) })
 * actor.start()
 * await toPromise(actor)
 */
export const withModels = <TActor extends AnyActorRef>(actor: TActor, models: Models, prices: PriceTable = {}): TActor => {
  const runId = (actor.getSnapshot() as { context?: { runId?: unknown } }).context?.runId
  const base = servicesFor(actor.system, typeof runId === "string" ? runId : actor.id)
  attachServices(actor.system, { ...base, models, prices: { ...defaultPrices, ...prices } })
  return actor
}

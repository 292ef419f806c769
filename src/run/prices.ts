import type { Usage } from "../contract/model.ts"

/**
 * Price of a model in US dollars per million tokens. `cachedInput` applies to input tokens served
 * from the provider's prompt cache (defaults to `input`).
 *
 * @example
 * const price: ModelPrice = { input: 0.15, output: 0.6, cachedInput: 0.075 }
 */
export interface ModelPrice {
  readonly input: number
  readonly output: number
  readonly cachedInput?: number
}

/**
 * Prices by `provider:model` or by model id alone, checked in that order. Override or extend them
 * per run with `RunOptions.prices`; a model missing from both has no cost (never a guessed one).
 *
 * @example
 * const prices: PriceTable = { "openai:my-finetune": { input: 3, output: 12 } }
 */
export type PriceTable = Readonly<Record<string, ModelPrice>>

/**
 * List prices (USD per million tokens) of widely used models, as published by the providers when
 * this table was written. Prices change: pass your own `prices` for anything that bills you.
 */
export const defaultPrices: PriceTable = {
  "gpt-4o": { input: 2.5, output: 10, cachedInput: 1.25 },
  "gpt-4o-mini": { input: 0.15, output: 0.6, cachedInput: 0.075 },
  "gpt-4.1": { input: 2, output: 8, cachedInput: 0.5 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6, cachedInput: 0.1 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "o4-mini": { input: 1.1, output: 4.4, cachedInput: 0.275 },
  "claude-3-5-haiku-latest": { input: 0.8, output: 4, cachedInput: 0.08 },
  "claude-sonnet-4-0": { input: 3, output: 15, cachedInput: 0.3 },
  "claude-opus-4-0": { input: 15, output: 75, cachedInput: 1.5 },
}

/**
 * The cost of one call in US dollars, or undefined when the model has no price.
 *
 * @example
 * costOf({ inputTokens: 1_000_000, outputTokens: 0 }, "openai", "gpt-4o-mini", defaultPrices) // 0.15
 */
export const costOf = (usage: Usage, provider: string, model: string, prices: PriceTable): number | undefined => {
  const price = prices[`${provider}:${model}`] ?? prices[model]
  if (price === undefined) return undefined
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens)
  const dollars = ((usage.inputTokens - cached) * price.input + cached * (price.cachedInput ?? price.input) + usage.outputTokens * price.output) / 1_000_000
  return Math.round(dollars * 1e9) / 1e9
}

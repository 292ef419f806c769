// The response cache of a run (`modelCache`): a stable key per request, and reading an answer
// back as something a step can trust. Anything unexpected in the cache is a miss: a cache is an
// accelerator and must never fail a step.
import { createHash } from "node:crypto"
import type { Model, ModelRequest, ModelResponse, ToolCall } from "../contract/model.ts"
import type { ModelCache } from "../contract/model-cache.ts"

/** Part of every key: bumped when what is kept, or how it is keyed, changes. */
export const modelCacheFormat = "switchboard.model-cache/1"

/**
 * JSON with the keys of every object sorted and `undefined` fields left out, so two requests that
 * are equal as data give the same text whatever order their fields were written in.
 *
 * @example
 * canonicalJson({ b: 1, a: [true, { d: null, c: "x" }] }) // '{"a":[true,{"c":"x","d":null}],"b":1}'
 */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null)
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`
  const fields = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
  return `{${fields.join(",")}}`
}

/**
 * The cache key of one call: a SHA-256 of the format, the cache's version, the provider, the
 * model and the whole request (messages, tools, output schema, settings).
 *
 * @example
 * const key = modelCacheKey(memoryModelCache(), model, { messages: [{ role: "user", content: "2+2?" }] })
 */
export const modelCacheKey = (cache: ModelCache, model: Model, request: ModelRequest): string =>
  createHash("sha256")
    .update(canonicalJson({ format: modelCacheFormat, version: cache.version ?? "", provider: model.provider, model: model.model, request }))
    .digest("hex")

/**
 * The answer kept under `key`, or `undefined` when there is none or what is there is not an
 * answer (a torn row, another program's data, a store that throws).
 *
 * @example
 * const hit = await cachedResponse(cache, key)
 */
export const cachedResponse = async (cache: ModelCache, key: string): Promise<ModelResponse | undefined> => {
  let text: string | undefined
  try {
    text = await cache.get(key)
  } catch {
    return undefined
  }
  if (typeof text !== "string") return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  return responseOf(value)
}

/**
 * Keeps an answer under `key`; a store that refuses is ignored (the step already has its answer).
 *
 * @example
 * await keepResponse(cache, key, { text: "4" })
 */
export const keepResponse = async (cache: ModelCache, key: string, response: ModelResponse): Promise<void> => {
  const kept = {
    text: response.text,
    ...(response.toolCalls === undefined ? {} : { toolCalls: response.toolCalls }),
    ...(response.finishReason === undefined ? {} : { finishReason: response.finishReason }),
  }
  try {
    await cache.set(key, JSON.stringify(kept))
  } catch {
    // Nothing to do: the next run misses and calls the model again.
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

const isToolCall = (value: unknown): value is ToolCall =>
  isRecord(value) && typeof value["id"] === "string" && typeof value["name"] === "string" && "arguments" in value

const responseOf = (value: unknown): ModelResponse | undefined => {
  if (!isRecord(value) || typeof value["text"] !== "string") return undefined
  const toolCalls = value["toolCalls"]
  const finishReason = value["finishReason"]
  if (toolCalls !== undefined && !(Array.isArray(toolCalls) && toolCalls.every(isToolCall))) return undefined
  if (finishReason !== undefined && typeof finishReason !== "string") return undefined
  return {
    text: value["text"],
    ...(toolCalls === undefined ? {} : { toolCalls: toolCalls as ToolCall[] }),
    ...(finishReason === undefined ? {} : { finishReason }),
  }
}

/**
 * What the cache knows of one call: its answer, if kept, and how to keep the answer of a call
 * made. Without a cache both are no-ops.
 *
 * @example
 * const lookup = await lookUpResponse(services.modelCache, model, request)
 * if (lookup.hit === undefined) await lookup.keep(await model.generate(request, options))
 */
export const lookUpResponse = async (
  cache: ModelCache | undefined,
  model: Model,
  request: ModelRequest,
): Promise<{ readonly hit: ModelResponse | undefined; readonly keep: (response: ModelResponse) => Promise<void> }> => {
  if (cache === undefined) return { hit: undefined, keep: async () => {} }
  const key = modelCacheKey(cache, model, request)
  return { hit: await cachedResponse(cache, key), keep: (response) => keepResponse(cache, key, response) }
}

import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { embeddingRetriever, ModelError, openaiEmbeddings } from "../../../src/index.ts"
import { type FakeServer, startFakeServer } from "../fake-server.ts"
import { openSignal, rejectionOf, secretKey, sentBody } from "./helpers.ts"

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  await server.close()
})

// OpenAI's documented embeddings response. The SDK asks for base64 unless told otherwise, and the
// server then sends each vector as base64 of little-endian float32s.
const base64Of = (vector: readonly number[]) => Buffer.from(new Float32Array(vector).buffer).toString("base64")
const embeddingsBody = (vectors: ReadonlyArray<readonly number[]>, encoding: "base64" | "float" = "base64") => ({
  object: "list",
  data: vectors.map((vector, index) => ({ object: "embedding", index, embedding: encoding === "base64" ? base64Of(vector) : vector })),
  model: "text-embedding-3-small",
  usage: { prompt_tokens: 8, total_tokens: 8 },
})

const embedder = (options: { dimensions?: number } = {}) =>
  openaiEmbeddings({ model: "text-embedding-3-small", apiKey: secretKey, baseURL: `${server.url}/v1`, ...options })

describe("openaiEmbeddings", () => {
  it("posts the texts to /v1/embeddings with the key and returns one vector per text, in input order", async () => {
    const vectors = [
      [0.5, -0.25, 1],
      [0, 1, 0.125],
    ]
    // answered out of order: the index field decides
    const body = embeddingsBody(vectors)
    server.reply({ kind: "json", body: { ...body, data: [...body.data].reverse() } })
    const result = await embedder({ dimensions: 3 }).embed(["refund policy", "shipping times"], { signal: openSignal() })
    expect(result).toEqual(vectors)
    expect(server.requests[0]).toMatchObject({ method: "POST", path: "/v1/embeddings" })
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${secretKey}`)
    expect(sentBody(server)).toMatchObject({
      model: "text-embedding-3-small",
      input: ["refund policy", "shipping times"],
      dimensions: 3,
      encoding_format: "base64",
    })
  })

  it("maps a 429 with retry-after to a retryable rate-limited ModelError, without the key", async () => {
    server.reply({
      kind: "json",
      status: 429,
      headers: { "retry-after": "3" },
      body: {
        error: { message: `Rate limit reached for text-embedding-3-small (key ${secretKey})`, type: "requests", param: null, code: "rate_limit_exceeded" },
      },
    })
    const error = await rejectionOf(embedder().embed(["refund"], { signal: openSignal() }))
    expect(error).toBeInstanceOf(ModelError)
    expect(error).toMatchObject({
      provider: "openai",
      model: "text-embedding-3-small",
      reason: "rate-limited",
      retryable: true,
      status: 429,
      retryAfterMs: 3000,
    })
    expect((error as ModelError).message).not.toContain("SECRET123456")
  })

  it("maps a 400 to invalid-request and a missing key to authentication", async () => {
    server.reply({
      kind: "json",
      status: 400,
      body: { error: { message: "This model does not support specifying dimensions.", type: "invalid_request_error", param: "dimensions", code: null } },
    })
    expect(await rejectionOf(embedder({ dimensions: 3 }).embed(["x"], { signal: openSignal() }))).toMatchObject({
      reason: "invalid-request",
      retryable: false,
      status: 400,
    })
    const keyless = openaiEmbeddings({ model: "text-embedding-3-small", apiKey: " ", baseURL: `${server.url}/v1` })
    const previous = process.env["OPENAI_API_KEY"]
    delete process.env["OPENAI_API_KEY"]
    try {
      expect(await rejectionOf(keyless.embed(["x"], { signal: openSignal() }))).toMatchObject({
        reason: "authentication",
        message: expect.stringContaining("openaiEmbeddings"),
      })
    } finally {
      if (previous !== undefined) process.env["OPENAI_API_KEY"] = previous
    }
  })

  it("rejects a response with too few vectors as a server error", async () => {
    server.reply({ kind: "json", body: embeddingsBody([[1, 0]]) })
    expect(await rejectionOf(embedder().embed(["a", "b"], { signal: openSignal() }))).toMatchObject({
      reason: "server",
      message: expect.stringContaining("1 vectors for 2 inputs"),
    })
  })

  it("drives an embedding retriever: documents embedded in one call, then one call per query", async () => {
    server.reply(
      {
        kind: "json",
        body: embeddingsBody([
          [1, 0],
          [0, 1],
        ]),
      },
      { kind: "json", body: embeddingsBody([[0.1, 0.9]]) },
    )
    const retriever = embeddingRetriever({
      embedder: embedder(),
      documents: [
        { id: "refunds", text: "Refunds take five days." },
        { id: "shipping", text: "Parcels ship daily." },
      ],
    })
    const passages = await retriever.retrieve("when does my parcel ship", { k: 1, signal: openSignal() })
    expect(passages.map((passage) => passage.id)).toEqual(["shipping"])
    expect(server.requests.map((request) => (request.body as { input: string[] }).input)).toEqual([
      ["Refunds take five days.", "Parcels ship daily."],
      ["when does my parcel ship"],
    ])
  })
})

// Secrets out by default: a tool argument named `apiKey`, a gateway key echoed in an Anthropic 401
// body, and a thrown message and field are found nowhere a person or a disk sees them: not in the
// SQLite file nor its WAL (raw bytes), the JSONL log, OTel spans, `show --json`, the HTML run view,
// the events observers get, or the RunResult. No `redact` option is given anywhere.
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace"
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest"
import { jsonlLog, otelObserver, type RunEvent, type RunResult, sqliteJournal, toHtml } from "../../src/index.ts"
import { cli, removeTemporaryFolders, root, startCli, temporaryFolder } from "../cli/run-cli.ts"
import { type FakeServer, startFakeServer } from "../providers/fake-server.ts"
import secrets, { gatewayKey, models, thrownSecret, toolSecret } from "./fixtures/secrets.pipeline.ts"

const pipelineFile = join(root, "test/run/fixtures/secrets.pipeline.ts")
const allSecrets = [toolSecret, gatewayKey, thrownSecret]

// The gateway speaks Anthropic's wire format and echoes the key it was sent, as some do.
const echoingGateway = async (): Promise<FakeServer> => {
  const server = await startFakeServer()
  const refusal = {
    kind: "json" as const,
    status: 401,
    body: { type: "error", error: { type: "authentication_error", message: `Key ${gatewayKey} is not valid for this gateway` }, request_id: "req_1" },
  }
  server.reply(...Array.from({ length: 10 }, () => refusal))
  return server
}

const expectNoSecret = (where: string, text: string) => {
  for (const secret of allSecrets) expect(text.includes(secret), `${where} holds ${secret}`).toBe(false)
}

// Everything a database keeps on disk, as bytes: the main file and, while it is open, its WAL.
const diskBytes = (path: string): { readonly text: string; readonly wal: number } => {
  const wal = existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : Buffer.alloc(0)
  return { text: readFileSync(path).toString("latin1") + wal.toString("latin1"), wal: wal.length }
}

let gateway: FakeServer
beforeEach(async () => {
  gateway = await echoingGateway()
})
afterEach(async () => {
  await gateway.close()
})
afterAll(removeTemporaryFolders)

describe("secrets out by default, in process", () => {
  it("keeps them out of the SQLite file and WAL, observers, the JSONL log, OTel spans, the HTML view and the RunResult", async () => {
    process.env["GATEWAY_URL"] = gateway.url
    const folder = temporaryFolder()
    const path = join(folder, "runs.db")
    const logPath = join(folder, "events.jsonl")
    const exporter = new InMemorySpanExporter()
    const tracer = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }).getTracer("secrets")
    const journal = sqliteJournal({ path })
    const log = jsonlLog({ path: logPath })
    const events: RunEvent[] = []
    const results: RunResult<Record<string, unknown>>[] = []
    try {
      for (const ending of ["ask", "crash"] as const) {
        results.push(
          await secrets.run(
            { orderId: "A-17", ending },
            {
              runId: `run-${ending}`,
              journal,
              models: models(),
              observers: [log, otelObserver({ tracer, captureContent: true }), (event) => events.push(event)],
            },
          ),
        )
      }
      // the journal is still open: its WAL holds every event written so far
      const disk = diskBytes(path)
      expect(disk.wal).toBeGreaterThan(0)
      expect(disk.text).toContain('"apiKey":"[redacted]"')
      expectNoSecret("the SQLite file and its WAL", disk.text)

      expect(results.map((result) => result.status)).toEqual(["failed", "failed"])
      const [asked, crashed] = results as [RunResult<Record<string, unknown>>, RunResult<Record<string, unknown>>]
      expect(asked).toMatchObject({ status: "failed", error: { _tag: "ModelError", reason: "authentication", message: expect.stringContaining("Key ***") } })
      expect(crashed).toMatchObject({ status: "failed", error: { _tag: "StepCodeError", name: "VaultError", fields: { credentials: "[redacted]" } } })
      expectNoSecret("the RunResults", JSON.stringify(results))
      // the key really went to the gateway, so there was something to leak
      expect(gateway.requests[0]?.headers.authorization).toBe(`Bearer ${gatewayKey}`)

      expectNoSecret("the events observers got", JSON.stringify(events))
      expect(events.find((event) => event.type === "tool.called")).toMatchObject({ args: { orderId: "A-17", apiKey: "[redacted]" } })
      log.close()
      expectNoSecret("the JSONL log", readFileSync(logPath, "utf8"))
      const spans = exporter.getFinishedSpans()
      expect(spans.map((span) => span.name)).toEqual(expect.arrayContaining(["execute_tool charge", "chat claude-sonnet-5"]))
      expectNoSecret(
        "the OTel spans",
        JSON.stringify(spans.map((span) => ({ name: span.name, attributes: span.attributes, events: span.events, status: span.status }))),
      )
      for (const runId of ["run-ask", "run-crash"]) expectNoSecret(`the HTML view of ${runId}`, toHtml(secrets, { run: await journal.read(runId) }))
    } finally {
      log.close()
      journal.close()
      delete process.env["GATEWAY_URL"]
    }
  })
})

describe("secrets out by default, through the CLI", () => {
  it("keeps them out of the CLI's output, `--log`, the database, `show --json` and `viz --html`", { timeout: 60_000 }, async () => {
    const folder = temporaryFolder()
    const path = join(folder, "runs.db")
    const logPath = join(folder, "cli.jsonl")
    const env = { GATEWAY_URL: gateway.url }
    const runIds: string[] = []
    for (const ending of ["ask", "crash"]) {
      const args = ["run", pipelineFile, "--input", JSON.stringify({ orderId: "A-17", ending }), "--journal", `sqlite:${path}`, "--log", logPath, "--json"]
      const run = await startCli(args, env).finished
      expect(run.code, run.stderr).toBe(1)
      expectNoSecret(`switchboard run (${ending})`, run.stdout + run.stderr)
      runIds.push((JSON.parse(run.stdout) as { runId: string }).runId)
    }
    expectNoSecret("the --log file", readFileSync(logPath, "utf8"))
    expect(readFileSync(logPath, "utf8")).toContain('"apiKey":"[redacted]"')
    for (const runId of runIds) {
      const shown = await cli("show", runId, "--journal", `sqlite:${path}`, "--json")
      expect(shown.code, shown.stderr).toBe(0)
      expect(shown.stdout).toContain("tool.called")
      expectNoSecret(`show --json ${runId}`, shown.stdout + shown.stderr)
      const page = join(folder, `${runId}.html`)
      const viz = await cli("viz", pipelineFile, "--run", runId, "--journal", `sqlite:${path}`, "--html", page)
      expect(viz.code, viz.stderr).toBe(0)
      expectNoSecret(`viz --html ${runId}`, readFileSync(page, "utf8"))
    }
    expectNoSecret("the CLI's database", diskBytes(path).text)
  })
})

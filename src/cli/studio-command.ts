import type { Output } from "./commands.ts"
import { openJournal, parseJournal, resolveJournal } from "./journal-option.ts"
import { loadPipelines, UsageError } from "./load-pipeline.ts"

/**
 * Options of `switchboard studio`.
 *
 * @example
 * const options: StudioCommandOptions = { journal: "sqlite:.switchboard/runs.db", port: "4400" }
 */
export interface StudioCommandOptions {
  readonly journal?: string
  readonly port?: string
  readonly host?: string
  readonly token?: string
}

/**
 * `switchboard studio [file] --journal …`: serves the studio (runs, charts, live events, inbox)
 * for a durable journal until SIGINT or SIGTERM, then resolves with 0. With a pipelines file its
 * runs are drawn and can be decided. A journal that cannot be opened, a bad port, or a port in
 * use is a `UsageError` (one line, exit code 2), before anything is served.
 *
 * @example
 * const code = await studioCommand("machines/support-triage.machine.ts", { journal: "sqlite:.switchboard/runs.db" }, output, AbortSignal.timeout(60_000))
 */
export const studioCommand = async (file: string | undefined, options: StudioCommandOptions, output: Output, stop?: AbortSignal): Promise<number> => {
  const journalValue = resolveJournal(options.journal)
  const spec = parseJournal(journalValue)
  if (spec.kind === "memory") throw new UsageError("studio needs a durable journal: --journal sqlite:PATH or postgres:URL[#schema]")
  const port = Number(options.port ?? "4400")
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port must be a port number (0–65535), got "${options.port}"`)
  const loaded = file === undefined ? undefined : await loadPipelines(file)
  const opened = await openJournal(journalValue)
  if (opened.journal.tail === undefined) {
    await opened.close()
    throw new UsageError(`--journal ${opened.durable}: this journal cannot be followed`)
  }
  const { serveStudio } = await import("../studio/serve-studio.ts")
  let studio: Awaited<ReturnType<typeof serveStudio>>
  try {
    studio = await serveStudio({
      journal: opened.journal,
      pipelines: (loaded?.pipelines ?? []).map((pipeline) => ({ pipeline, models: loaded?.models ?? {} })),
      port,
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(options.token === undefined ? {} : { token: options.token }),
      onError: (message) => output.error(`switchboard studio: ${message}`),
    })
  } catch (error) {
    await opened.close()
    throw new UsageError(`studio cannot listen on ${options.host ?? "127.0.0.1"}:${port}: ${error instanceof Error ? error.message : String(error)}`)
  }
  output.out(`switchboard studio: ${studio.url} (journal ${opened.durable}${loaded === undefined ? ", no pipelines file: charts and decisions need one" : ""})`)
  if (studio.token !== undefined) output.out(`  every request needs the token ${studio.token} (the URL above carries it once)`)
  await new Promise<void>((resolve) => {
    const done = () => {
      process.off("SIGINT", done)
      process.off("SIGTERM", done)
      resolve()
    }
    process.once("SIGINT", done)
    process.once("SIGTERM", done)
    if (stop?.aborted) done()
    stop?.addEventListener("abort", done, { once: true })
  })
  await studio.close()
  await opened.close()
  return 0
}

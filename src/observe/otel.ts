import { createRequire } from "node:module"
import type * as OpenTelemetry from "@opentelemetry/api"
import type { RunError } from "../contract/errors.ts"
import type { RunEvent } from "../contract/events.ts"
import { modelCallReader } from "../contract/model-calls.ts"
import { inputMessages, outputMessages } from "./gen-ai-messages.ts"

/** The `@opentelemetry/api` module, as `import * as api from "@opentelemetry/api"` gives it. */
export type OpenTelemetryApi = typeof OpenTelemetry

/**
 * Options of {@link otelObserver}.
 *
 * @example
 * const options: OtelObserverOptions = { captureContent: true }
 */
export interface OtelObserverOptions {
  /** Where spans go (default: `trace.getTracer("switchboard")` of the global tracer provider, looked up on the first event). */
  readonly tracer?: OpenTelemetry.Tracer
  /** Record prompts, responses, tool arguments and results on spans (redacted like every event). Default false. */
  readonly captureContent?: boolean
  /** The `@opentelemetry/api` module to use (default: loaded on the first event, so importing switchboard never loads it). */
  readonly api?: OpenTelemetryApi
}

interface RunSpans {
  pipeline: string | undefined
  run: OpenTelemetry.Span | undefined
  /** The run span of the segment before a pause on a human step: the next segment links to it. */
  previous: OpenTelemetry.SpanContext | undefined
  readonly steps: Map<string, OpenTelemetry.Span>
}

const errorType = (error: RunError): string => (error._tag === "ModelError" ? error.reason : error._tag)

const stepKey = (step: string, visit: number) => `${step}#${visit}`

/**
 * An observer that turns run events into OpenTelemetry spans through `@opentelemetry/api`: a
 * `run <pipeline>` span per run, a `step <name>` span per step visit under it, and under each step a
 * `chat <model>` span per model call and an `execute_tool <tool>` span per tool call, with the GenAI
 * semantic conventions' attributes. Retries, repairs, fallbacks, routes and human waits are span
 * events. A run paused on a human step ends its spans there; its continuation opens a new run
 * span linked to the paused one. Prompts and responses are recorded only with `captureContent`.
 *
 * @example
 * await triage.run({ ticket }, { models, observers: [otelObserver({ captureContent: false })] })
 */
export const otelObserver = (options: OtelObserverOptions = {}): ((event: RunEvent) => void) => {
  let api = options.api
  let tracer = options.tracer
  const runs = new Map<string, RunSpans>()
  const capture = options.captureContent === true
  // Listeners get every call's messages in full; journaled agent calls (a journal fed to the
  // observer) hold only their conversation's new part, which this rebuilds.
  const prompts = modelCallReader()

  const startRun = (api: OpenTelemetryApi, tracer: OpenTelemetry.Tracer, state: RunSpans, runId: string, at: number): OpenTelemetry.Span => {
    const span = tracer.startSpan(
      state.pipeline === undefined ? "run" : `run ${state.pipeline}`,
      {
        startTime: at,
        attributes: {
          "switchboard.run.id": runId,
          ...(state.pipeline === undefined ? {} : { "switchboard.pipeline": state.pipeline }),
          ...(state.previous === undefined ? {} : { "switchboard.run.continued": true }),
        },
        ...(state.previous === undefined ? {} : { links: [{ context: state.previous }] }),
      },
      api.context.active(),
    )
    state.run = span
    return span
  }

  const handle = (api: OpenTelemetryApi, tracer: OpenTelemetry.Tracer, event: RunEvent): void => {
    if (event.type === "model.delta") return
    let state = runs.get(event.runId)
    if (state === undefined) {
      state = { pipeline: undefined, run: undefined, previous: undefined, steps: new Map() }
      runs.set(event.runId, state)
    }
    if (event.type === "run.started") state.pipeline = event.pipeline
    // A run resumed in this process (after a pause or in another one) arrives without run.started.
    const run = state.run ?? startRun(api, tracer, state, event.runId, event.at)
    const under = (parent: OpenTelemetry.Span) => api.trace.setSpan(api.context.active(), parent)
    // A branch, map item or nested step (`extract.title`, `summaries[3]`, `summaries[3].label`) is
    // a child of the open span of the step around it: the latest one of that path.
    const enclosing = (step: string): OpenTelemetry.Span | undefined => {
      const parent = /^(.+?)(?:#\d+)?(?:\.[^.[\]]+|\[\d+\])$/.exec(step)?.[1]
      if (parent === undefined) return undefined
      let found: OpenTelemetry.Span | undefined
      for (const [key, span] of state.steps) if (key.slice(0, key.lastIndexOf("#")) === parent) found = span
      return found
    }
    const openStep = (step: string, visit: number, at: number): OpenTelemetry.Span => {
      const existing = state.steps.get(stepKey(step, visit))
      if (existing !== undefined) return existing
      const span = tracer.startSpan(
        `step ${step}`,
        { startTime: at, attributes: { "switchboard.step.name": step, "switchboard.step.visit": visit } },
        under(enclosing(step) ?? run),
      )
      state.steps.set(stepKey(step, visit), span)
      return span
    }
    const fail = (span: OpenTelemetry.Span, error: RunError, at: number) => {
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: error.message })
      span.setAttribute("error.type", errorType(error))
      // The thrown error's class and stack (already redacted) as the span's exception event, so a
      // trace viewer points at the line that threw.
      if (error.stack !== undefined) span.recordException({ name: error.name ?? error._tag, message: error.message, stack: error.stack }, at)
    }
    const endSteps = (at: number) => {
      for (const span of state.steps.values()) span.end(at)
      state.steps.clear()
    }

    switch (event.type) {
      case "run.started":
        return
      case "step.started":
        openStep(event.step, event.visit, event.at)
        return
      case "step.retried":
        openStep(event.step, event.visit, event.at).addEvent(
          "switchboard.step.retry",
          {
            "switchboard.attempt": event.attempt,
            "switchboard.retry.delay_ms": event.delayMs,
            "error.type": errorType(event.error),
            "switchboard.error.message": event.error.message,
          },
          event.at,
        )
        return
      case "model.repair":
        openStep(event.step, event.visit, event.at).addEvent(
          "switchboard.model.repair",
          { "switchboard.repair": event.repair, "switchboard.repair.issues": event.issues.map((issue) => `${issue.path}: ${issue.message}`) },
          event.at,
        )
        return
      case "model.fallback":
        openStep(event.step, event.visit, event.at).addEvent(
          "switchboard.model.fallback",
          { "switchboard.fallback.from": event.from, "switchboard.fallback.to": event.to, "error.type": errorType(event.error) },
          event.at,
        )
        return
      case "model.called": {
        const startTime = event.at - event.durationMs
        const step = openStep(event.step, event.visit, startTime)
        const usage = event.usage
        const span = tracer.startSpan(
          `chat ${event.model}`,
          {
            kind: api.SpanKind.CLIENT,
            startTime,
            attributes: {
              "gen_ai.operation.name": "chat",
              "gen_ai.provider.name": event.provider,
              "gen_ai.system": event.provider,
              "gen_ai.request.model": event.model,
              ...(usage === undefined ? {} : { "gen_ai.usage.input_tokens": usage.inputTokens, "gen_ai.usage.output_tokens": usage.outputTokens }),
              ...(usage?.cachedInputTokens === undefined ? {} : { "gen_ai.usage.cache_read.input_tokens": usage.cachedInputTokens }),
              ...(event.response?.finishReason === undefined ? {} : { "gen_ai.response.finish_reasons": [event.response.finishReason] }),
            },
          },
          under(step),
        )
        if (event.error !== undefined) fail(span, event.error, event.at)
        if (capture) {
          // A journaled call whose earlier calls were not given cannot be rebuilt: its span keeps the rest.
          let sent: ReturnType<typeof inputMessages> | undefined
          try {
            sent = inputMessages(prompts.messagesOf(event))
          } catch {
            sent = undefined
          }
          span.addEvent(
            "gen_ai.client.inference.operation.details",
            {
              ...(sent === undefined ? {} : { "gen_ai.input.messages": JSON.stringify(sent.input) }),
              ...(sent === undefined || sent.instructions.length === 0 ? {} : { "gen_ai.system_instructions": JSON.stringify(sent.instructions) }),
              ...(event.response === undefined ? {} : { "gen_ai.output.messages": JSON.stringify(outputMessages(event.response)) }),
            },
            event.at,
          )
        }
        span.end(event.at)
        return
      }
      case "tool.called": {
        const startTime = event.at - event.durationMs
        const span = tracer.startSpan(
          `execute_tool ${event.tool}`,
          {
            kind: api.SpanKind.INTERNAL,
            startTime,
            attributes: {
              "gen_ai.operation.name": "execute_tool",
              "gen_ai.tool.name": event.tool,
              ...(capture ? { "gen_ai.tool.call.arguments": JSON.stringify(event.args) ?? "undefined" } : {}),
              ...(capture && event.error === undefined ? { "gen_ai.tool.call.result": JSON.stringify(event.result) ?? "undefined" } : {}),
            },
          },
          under(openStep(event.step, event.visit, startTime)),
        )
        if (event.error !== undefined) fail(span, event.error, event.at)
        span.end(event.at)
        return
      }
      case "step.finished":
      case "step.failed": {
        const span = openStep(event.step, event.visit, event.at - event.durationMs)
        span.setAttribute("switchboard.step.attempts", event.attempts)
        if (event.usage !== undefined) {
          span.setAttributes({
            "gen_ai.usage.input_tokens": event.usage.inputTokens,
            "gen_ai.usage.output_tokens": event.usage.outputTokens,
            "switchboard.cost_usd": event.usage.costUsd,
          })
        }
        if (event.type === "step.finished") span.setAttribute("switchboard.step.next", event.next)
        else fail(span, event.error, event.at)
        span.end(event.at)
        state.steps.delete(stepKey(event.step, event.visit))
        return
      }
      case "route.taken":
        run.addEvent("switchboard.route", { "switchboard.route.from": event.from, "switchboard.route.to": event.to }, event.at)
        return
      case "human.waiting": {
        const step = openStep(event.step, event.visit, event.at)
        step.addEvent(
          "switchboard.human.waiting",
          event.deadline === undefined ? {} : { "switchboard.human.deadline": new Date(event.deadline).toISOString() },
          event.at,
        )
        // A human may take days: the segment ends here, and whatever follows opens a linked one.
        run.setAttribute("switchboard.run.status", "awaiting-human")
        endSteps(event.at)
        run.end(event.at)
        state.previous = run.spanContext()
        state.run = undefined
        return
      }
      case "human.decided":
      case "human.expired":
        openStep(event.step, event.visit, event.at).addEvent(
          event.type === "human.decided" ? "switchboard.human.decided" : "switchboard.human.expired",
          {},
          event.at,
        )
        return
      case "run.finished":
        run.setAttributes({ "switchboard.run.status": event.status, "switchboard.run.duration_ms": event.durationMs })
        if (event.stoppedBy !== undefined)
          run.setAttributes({ "switchboard.run.stopped_by.step": event.stoppedBy.step, "switchboard.run.stopped_by.rule": event.stoppedBy.rule })
        if (event.error !== undefined) fail(run, event.error, event.at)
        endSteps(event.at)
        run.end(event.at)
        runs.delete(event.runId)
        prompts.forget(event.runId)
        return
    }
  }

  return (event) => {
    api ??= createRequire(import.meta.url)("@opentelemetry/api") as OpenTelemetryApi
    tracer ??= api.trace.getTracer("switchboard")
    handle(api, tracer, event)
  }
}

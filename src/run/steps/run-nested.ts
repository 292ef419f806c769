import * as Effect from "effect/Effect"
import { createActor } from "xstate"
import { type MachineOutput, machineEvents } from "../../compile/run-context.ts"
import { type RunError, StepCodeError, type StepError, serializeStepError } from "../../contract/errors.ts"
import type { NestedPipeline, PipelineStep } from "../../definition/steps/fanout-step.ts"
import { childDeadlines, followChild } from "../nested-pauses.ts"
import type { RunServices, StepRun } from "../services.ts"
import { attachServices } from "../services.ts"
import { runCode } from "./run-code.ts"

/**
 * A `pipeline` step: computes the child's input, checks it against the child's input schema, and
 * runs the child's machine with this step's path as the prefix of its steps' names.
 */
export const runNested = (step: PipelineStep<unknown, unknown>, stepRun: StepRun): Effect.Effect<unknown, StepError> =>
  Effect.gen(function* () {
    const { name, context, services } = stepRun
    const input = yield* runCode(name, () => step.input(context))
    const checked = step.pipeline.input.safeParse(input)
    if (!checked.success) {
      const issues = checked.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`).join("; ")
      return yield* new StepCodeError({ step: name, retryable: false, message: `input of nested pipeline "${step.pipeline.id}" is invalid: ${issues}` })
    }
    // A second visit of this step (a loop) is a new child run: its steps get a path of their own.
    const prefix = context.visit === 1 ? `${name}.` : `${name}#${context.visit}.`
    return yield* Effect.callback<unknown, StepError>((resume, signal) => {
      const finished = runChild(step.pipeline, checked.data, prefix, services, signal)
      finished.then(
        (output) => resume(Effect.succeed(output)),
        (error: RunError) => resume(Effect.fail(error as unknown as StepError)),
      )
      // Interrupted: the child is cancelled; wait until it has journaled how its steps ended.
      return Effect.promise(() =>
        finished.then(
          () => {},
          () => {},
        ),
      )
    })
  })

/** Runs a child pipeline's machine in its own actor system whose services journal into the parent's. */
export const runChild = (child: NestedPipeline, input: unknown, prefix: string, services: RunServices, signal: AbortSignal): Promise<unknown> =>
  new Promise((resolve, reject) => {
    // A resumed run keeps the deadlines it journaled for the child's waits.
    const deadlines = childDeadlines(services, prefix)
    const actor = createActor(child.machine, {
      input: { input, runId: services.runId, ...(Object.keys(deadlines).length === 0 ? {} : { deadlines }) },
      ...(services.inspect === undefined ? {} : { inspect: services.inspect }),
    })
    // The unit this child runs as is not busy itself while the child runs: the child counts its own work.
    const { busy: unitBusy, ...childServices } = services
    attachServices(actor.system, { ...childServices, path: prefix })
    const follow = followChild(child.definitions, prefix, childServices, actor)
    unitBusy?.release()
    const onAbort = () => actor.send({ type: machineEvents.cancel, reason: "the parent step was cancelled" })
    actor.subscribe({
      next: (snapshot) => {
        follow.next(snapshot)
        if (snapshot.status !== "done") return
        unitBusy?.hold()
        signal.removeEventListener("abort", onAbort)
        const output = snapshot.output as MachineOutput
        if (output.status === "done") resolve(output.last === null ? undefined : output.steps[output.last])
        else if (output.status === "stopped") {
          const rule = output.stoppedBy === null ? "a stop rule" : `stop rule ${output.stoppedBy.rule} of "${prefix}${output.stoppedBy.step}"`
          reject({
            _tag: "FanoutError",
            step: prefix.slice(0, -1),
            reason: "child-stopped",
            message: `nested pipeline "${child.id}" ended stopped (${rule}) instead of done`,
          } satisfies RunError)
        } else
          reject(
            output.error ??
              ({ _tag: "StepCodeError", step: prefix.slice(0, -1), retryable: false, message: `nested pipeline "${child.id}" failed` } satisfies RunError),
          )
      },
      error: (error) => {
        follow.end()
        unitBusy?.hold()
        signal.removeEventListener("abort", onAbort)
        reject(serializeStepError(prefix.slice(0, -1), error))
      },
    })
    if (signal.aborted) {
      follow.end()
      unitBusy?.hold()
      return reject({ _tag: "CancelledError", step: prefix.slice(0, -1), message: "cancelled before it started" } satisfies RunError)
    }
    signal.addEventListener("abort", onAbort, { once: true })
    actor.start()
  })

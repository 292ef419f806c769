// The public API of switchboard. Everything not listed here is internal.
export { pipeline } from "./graph/pipeline.ts"
export type { PipelineBuilder, PipelineOptions } from "./graph/pipeline.ts"
export { route } from "./graph/edges.ts"
export type { Edge, EdgeOptions, EdgesOf, Route, RouteContext, Target } from "./graph/edges.ts"
export { maxVisits, when } from "./graph/stop-rules.ts"
export type { StopContext, StopRule } from "./graph/stop-rules.ts"
export type { MachineInput, MachineOutput, PipelineEvent, PipelineMachine, RunContext, StepDone } from "./graph/compile.ts"

export { check } from "./verify/check.ts"
export type { Finding, FindingCode } from "./verify/check.ts"
export { coverage, paths } from "./verify/paths.ts"
export type { Fixtures, PathOptions, PathStep, PipelinePath, VerifiablePipeline } from "./verify/paths.ts"
export { simulate, simulatePath } from "./verify/simulate.ts"
export type { PathRun } from "./verify/simulate.ts"
export { sampleValues } from "./verify/sample.ts"

export { fn } from "./steps/fn.ts"
export { llm } from "./steps/llm.ts"
export { human } from "./steps/human.ts"
export { tool, callTool } from "./steps/tool.ts"
export type { Tool, ToolCallContext } from "./steps/tool.ts"
export type { AnyStep, FnStep, HumanStep, LlmStep, OutputOf, Step, StepContext, StepKind, ToolStep } from "./steps/step.ts"

export type { GenerateOptions, Message, Model, ModelRequest, ModelResponse, Models, Usage } from "./models/model.ts"
export type { ModelPrice, PriceTable } from "./models/prices.ts"
export type { Redaction } from "./observe/redact.ts"
export { toMermaid } from "./observe/diagram/mermaid.ts"
export type { DiagramOptions } from "./observe/diagram/mermaid.ts"
export { toHtml } from "./observe/diagram/html.ts"
export type { HtmlOptions } from "./observe/diagram/html.ts"
export { chartOf } from "./observe/diagram/chart.ts"
export type { Chart, ChartEdge, ChartEdgeKind, ChartNode } from "./observe/diagram/chart.ts"
export { takenCounts, traceOf } from "./observe/diagram/run-trace.ts"
export type { RunTrace, StepVisit, TakenTransition, VisitStatus } from "./observe/diagram/run-trace.ts"
export { otelObserver } from "./observe/otel.ts"
export type { OpenTelemetryApi, OtelObserverOptions } from "./observe/otel.ts"
export { jsonlLog } from "./observe/jsonl-log.ts"
export type { JsonlLog, JsonlLogOptions, JsonlTarget } from "./observe/jsonl-log.ts"
export type { DurationInput } from "./policies/duration.ts"
export type { RetryPolicy, StepPolicy } from "./policies/policy.ts"

export {
  ConfigurationError,
  isRetryableReason,
  ModelError,
  PipelineDefinitionError,
  StepCodeError,
  StepTimeoutError,
  ToolError,
} from "./errors.ts"
export type { ModelErrorReason, RunError, StepError } from "./errors.ts"

export type { Pipeline, RunHandle, RunOptions } from "./runtime/run.ts"
export { DecisionError } from "./runtime/result.ts"
export type { DoneResult, RunResult } from "./runtime/result.ts"
export type { PipelineStructure, RunEvent, RunEventType, RunStatus, UsageTotals } from "./runtime/events.ts"
export { ResumeError } from "./runtime/resume.ts"
export { worker } from "./runtime/worker.ts"
export type { Worker, WorkerJournal, WorkerOptions } from "./runtime/worker.ts"
export type { ResumeOptions } from "./runtime/resume.ts"
export { JournalConflictError, memoryJournal } from "./runtime/journal.ts"
export type { Journal, JournalEntry, RunClaim } from "./runtime/journal.ts"
export { sqliteJournal } from "./store/sqlite-journal.ts"
export type { RunSummary, SqliteJournal, SqliteJournalOptions } from "./store/sqlite-journal.ts"
export { postgresJournal } from "./store/postgres-journal.ts"
export type { PostgresJournal, PostgresJournalOptions, PostgresRunClaim, PostgresRunSummary } from "./store/postgres-journal.ts"
export { anthropic } from "./providers/anthropic/anthropic.ts"
export type { AnthropicOptions } from "./providers/anthropic/anthropic.ts"

export { openai } from "./providers/openai/openai.ts"
export type { OpenAIOptions } from "./providers/openai/openai.ts"
export { openaiCompatible } from "./providers/openai/compatible.ts"
export type { OpenAICompatibleOptions } from "./providers/openai/compatible.ts"

export { evaluate } from "./verify/evaluate/evaluate.ts"
export type { EvalProgress, EvalReport, EvaluateOptions, RowResult, ScorerSummary, TransitionCoverage } from "./verify/evaluate/evaluate.ts"
export { checkRow, DatasetError, loadDataset, parseCsvDataset, parseJsonl } from "./verify/evaluate/dataset.ts"
export type { EvalRow } from "./verify/evaluate/dataset.ts"
export { exact, expectPath, includes, numeric, regex, schemaValid } from "./verify/evaluate/scorers.ts"
export type { Score, ScoreContext, Scorer, Selectors } from "./verify/evaluate/scorers.ts"
export { llmJudge } from "./verify/evaluate/llm-judge.ts"
export type { JudgeOptions } from "./verify/evaluate/llm-judge.ts"
export { compareToBaseline } from "./verify/evaluate/baseline.ts"
export type { Regression } from "./verify/evaluate/baseline.ts"
export { toHtmlReport, toMarkdownReport } from "./verify/evaluate/report.ts"
export { replay, replayModel, replayModels, toEvalRow } from "./verify/replay.ts"
export type { Divergence, ReplayModel, ReplayOptions, ReplayReport, RequestMismatch } from "./verify/replay.ts"

// Engines (issue 12): where step visits execute; `switchboard/restate` runs them on a Restate cluster.
export { silentClock } from "./runtime/executor.ts"
export type { Clock, StepExecutor } from "./runtime/executor.ts"
export type { RunServices } from "./steps/step-run.ts"
